/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * libbpf's messages inside libfragml, which never prints: one print callback
 * for every place that opens a BPF object.  libbpf's warnings are kept (the
 * first and the last since loader_libbpf_reset(), first line of each, per thread)
 * so that error messages can quote the kernel's reason, and echoed to stderr
 * when FRAGML_DEBUG is set.  Not installed.
 */
#ifndef FRAGML_LIBBPF_LOG_H
#define FRAGML_LIBBPF_LOG_H

#include <stdarg.h>
#include <bpf/libbpf.h>

int loader_libbpf_print(enum libbpf_print_level lvl, const char *fmt, va_list ap);
void loader_libbpf_reset(void);
const char *loader_libbpf_first(void);	/* "" when there was none */
const char *loader_libbpf_last(void);

#endif /* FRAGML_LIBBPF_LOG_H */
