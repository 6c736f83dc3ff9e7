# loader/collect.mk (included by loader/build.mk): collection + identification
# stages, fragml-collect, `fragml top`/`fragml report`, workloads, tests, bench.

LIBFRAGML_SRCS	+= loader/csv.c
