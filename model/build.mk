# model/: the model format library (part of libfragml).
LIBFRAGML_SRCS += model/error.c model/model.c model/text.c
