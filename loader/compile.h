/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Compiled model versions (libfragml internal): BPF instructions generated
 * from a validated model, decision for decision equal to the map evaluator
 * (bpf/fragml_eval.bpf.h) and to fragml_model_eval().
 */
#ifndef FRAGML_COMPILE_H
#define FRAGML_COMPILE_H

#include <stdint.h>
#include <linux/bpf.h>

#include "fragml_error.h"
#include "fragml_model.h"

/* Where the generated program finds its input and counts its decisions. */
struct fragml_cgen_target {
	int cio_fd;		/* per-CPU array, 1 entry of struct fragml_cio */
	int counters_fd;	/* fragml_counters */
	enum bpf_prog_type type;	/* the caller's type (a tail call needs the same) */
	enum bpf_attach_type attach;	/* tracing callers: their attach type ... */
	uint32_t attach_btf_id;		/* ... and tracepoint (vmlinux BTF id) */
};

/* Generate and load; returns the program fd or a negative errno (err: the
 * kernel's reason, the verifier's last line). */
int fragml_compile_load(const struct fragml_model *m, uint32_t version,
			const struct fragml_cgen_target *t, unsigned int *n_insns,
			struct fragml_err *err);

#endif /* FRAGML_COMPILE_H */
