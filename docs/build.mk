# docs/: the example consumers of the identification feed (docs/examples/) and
# the manual pages (docs/man/).
include $(TOP)/docs/examples/build.mk
include $(TOP)/docs/man/man.mk
