/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * libfragml, loading/inference stage: publish models into the running kernel,
 * roll back, report status, and evaluate the live model in the kernel
 * (BPF_PROG_TEST_RUN) for parity tests and benchmarks.
 *
 * State lives in bpffs under <bpffs>/fragml (default /sys/fs/bpf/fragml):
 *   fragml_models, fragml_counters, fragml_info  shared maps (pinned by name)
 *   <hook>_cur, <hook>_prev                      model versions (inner maps)
 *   links/<prog>                                 attached observe programs
 *   policy_link                                  struct_ops policy (enforce mode)
 * Nothing stays in userspace: after fragml_close() what was published stays in
 * force until it is rolled back, replaced or detached.
 *
 * Memory: a handle is owned by the caller and freed by fragml_close().
 * Thread safety: one handle per thread; publishes from several processes are
 * serialised by an flock on the pin directory.  Errors: fragml_error.h.
 */
#ifndef FRAGML_LOAD_H
#define FRAGML_LOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "fragml_model.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FRAGML_DEFAULT_BPFFS	"/sys/fs/bpf"
#define FRAGML_DEFAULT_BTF	"/sys/kernel/btf/vmlinux"

struct fragml_handle;

struct fragml_open_opts {
	const char *bpffs;	/* bpffs mount point; NULL = /sys/fs/bpf */
	const char *btf_path;	/* kernel BTF; NULL = /sys/kernel/btf/vmlinux */
	bool install;		/* load + attach + pin the programs if absent */
	bool no_policy;		/* never attach the struct_ops policy */
	bool no_observe;	/* install the maps only: no tracepoint programs
				 * (parity tests and benchmarks, whose counters
				 * must see only their own decisions) */
};

/* What fragml_open() did, for the command to report. */
struct fragml_open_info {
	bool mounted_bpffs;	/* bpffs was not mounted and we mounted it */
	bool installed;		/* programs were loaded and attached now */
	bool enforce;		/* struct_ops policy attached (patched kernel) */
	int attached_progs;	/* observe programs attached (pinned links) */
};

int fragml_open(struct fragml_handle **h, const struct fragml_open_opts *opts,
		struct fragml_open_info *info, struct fragml_err *err);
void fragml_close(struct fragml_handle *h);

/* Path of the pin directory (<bpffs>/fragml). */
const char *fragml_pin_dir(const struct fragml_handle *h);

/*
 * Publish a validated model atomically into its hook's slot: a fresh inner
 * map, frozen, swapped in with one map update.  The model that was running
 * becomes the rollback target.  *version receives the new version number.
 * On failure the running model is untouched.
 */
int fragml_publish(struct fragml_handle *h, const struct fragml_model *m,
		   uint32_t *version, struct fragml_err *err);

/* Swap a hook back to its previous model (and the current one becomes previous). */
int fragml_rollback(struct fragml_handle *h, unsigned int hook, uint32_t *version,
		    struct fragml_err *err);

/* Empty a hook's slot (the kernel default decides again). */
int fragml_unpublish(struct fragml_handle *h, unsigned int hook, struct fragml_err *err);

struct fragml_hook_status {
	bool loaded;
	uint32_t version, prev_version, crc32;
	uint16_t n_trees, n_nodes, schema;
	uint8_t output, n_actions, max_depth;
	uint64_t map_bytes;			/* kernel memory of this version's map */
	uint64_t decisions[FRAGML_MAX_ACTIONS];	/* summed over CPUs */
};
int fragml_status(struct fragml_handle *h, unsigned int hook, struct fragml_hook_status *st,
		  struct fragml_err *err);

/* Running mode: FRAGML_MODE_OBSERVE or FRAGML_MODE_ENFORCE; schema of the programs. */
int fragml_running_mode(struct fragml_handle *h, uint32_t *mode, uint32_t *schema,
			struct fragml_err *err);

/* Names of attached observe programs (pinned links), NULL-terminated static list. */
int fragml_attached_programs(struct fragml_handle *h, char names[][64], int max,
			     struct fragml_err *err);

/*
 * Evaluate the live model of `hook` in the kernel on n vectors (n <= 4096):
 * the same evaluator, maps and slot lookup the hooks use.  `count` also counts
 * the decisions like a real hook.  out[i] receives version, action, score.
 */
int fragml_kernel_eval(struct fragml_handle *h, unsigned int hook, const struct fragml_vec *vecs,
		       unsigned int n, struct fragml_result *out, bool count,
		       struct fragml_err *err);

/* Time `repeat` passes over n vectors in the kernel; *ns = elapsed in the loop. */
int fragml_kernel_bench(struct fragml_handle *h, unsigned int hook, const struct fragml_vec *vecs,
			unsigned int n, unsigned int repeat, uint64_t *ns, struct fragml_err *err);

/*
 * Remove everything fragml pinned (programs detach, maps are freed when their
 * last user goes): the kernel is back to its default behaviour.
 */
int fragml_detach(const struct fragml_open_opts *opts, struct fragml_err *err);

/* Bytes of kernel memory one model version takes (array map of one blob). */
uint64_t fragml_model_map_bytes(void);

#ifdef __cplusplus
}
#endif
#endif /* FRAGML_LOAD_H */
