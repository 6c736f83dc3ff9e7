/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Inside libfragml: the canary (a candidate model evaluated beside the live
 * one, counted, never enforced) and the cgroup scope of the enforcing policy
 * (bpf/fragml_policy.bpf.c, "canary and scope").  Both need the policy's
 * pinned maps: patched kernel, policy attached.  Errors: fragml_error.h.
 */
#ifndef FRAGML_CANARY_H
#define FRAGML_CANARY_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/types.h>

#include "fragml_abi.h"
#include "fragml_load.h"

/* The kernel layout of a model and back (loader/load.c). */
int fragml_blob_pack(struct fragml_blob *b, const struct fragml_model *m, uint32_t version,
		     struct fragml_err *err);
int fragml_blob_to_model(const struct fragml_blob *b, struct fragml_model *m, struct fragml_err *err);

/* Put a candidate for m->hook beside the live model; its counters start at 0. */
int fragml_canary_set(struct fragml_handle *h, const struct fragml_model *m, struct fragml_err *err);
/* Remove the candidate of a hook (0 if none). */
int fragml_canary_clear(struct fragml_handle *h, unsigned int hook, struct fragml_err *err);
/* Publish the candidate as the live model (fragml_publish) and remove it. */
int fragml_canary_promote(struct fragml_handle *h, unsigned int hook, uint32_t *version,
			  char sha256[FRAGML_SHA256_HEX], struct fragml_err *err);

struct fragml_canary_status {
	bool available;		/* the policy's canary maps are pinned */
	bool loaded;
	char sha256[FRAGML_SHA256_HEX];
	uint64_t agree, disagree;
	/* decisions per (live action, candidate action), summed over CPUs */
	uint64_t matrix[FRAGML_MAX_ACTIONS][FRAGML_MAX_ACTIONS];
};
int fragml_canary_status(struct fragml_handle *h, unsigned int hook, struct fragml_canary_status *st,
			 struct fragml_err *err);

/* Enforce only for tasks in these cgroup v2 directories (and below), at most
 * FRAGML_SCOPE_MAX (fragml_abi.h); n = 0: every task again.  Replaces the previous scope. */
int fragml_scope_set(struct fragml_handle *h, const char *const *paths, int n, struct fragml_err *err);
/* The same with cgroup ids (as fragml_scope_get returns them: to put a scope back). */
int fragml_scope_set_ids(struct fragml_handle *h, const uint64_t *ids, int n, struct fragml_err *err);
/* The cgroup ids in scope; returns how many (0: every task), or -errno. */
int fragml_scope_get(struct fragml_handle *h, uint64_t ids[FRAGML_SCOPE_MAX], struct fragml_err *err);
/* The cgroup id of a cgroup v2 directory. */
int fragml_cgroup_id(const char *path, uint64_t *id, struct fragml_err *err);

#endif /* FRAGML_CANARY_H */
