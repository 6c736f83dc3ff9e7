/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * libfragml, enforce stage: the struct_ops policy (bpf/fragml_policy.bpf.c)
 * for a kernel carrying kernel-patches/ (struct mm_policy_ops).
 *
 * The policy link is pinned at /sys/fs/bpf/fragml/policy_link and stays
 * attached after the process exits.  It uses the models and counters pinned
 * in /sys/fs/bpf/fragml, so publishing a model (fragml_publish) changes the
 * decisions without touching the link.  Replacing the policy program itself
 * is an atomic struct_ops link update.
 *
 * Errors: fragml_error.h.  Nothing is printed.  Needs root.
 */
#ifndef FRAGML_POLICY_H
#define FRAGML_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "fragml_error.h"
#include "fragml_load.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FRAGML_POLICY_PIN	FRAGML_PIN_DIR "/policy_link"
#define FRAGML_POLICY_KTYPE	"mm_policy_ops"	/* kernel struct_ops type */

/* Policy variants (struct_ops maps of bpf/fragml_policy.bpf.c). */
#define FRAGML_POLICY_MODELS	"fragml"	  /* the loaded models decide */
#define FRAGML_POLICY_GATE	"fragml_gate"	  /* ... and the fallback gate */
#define FRAGML_POLICY_PLACE	"fragml_place"	  /* ... and fallback placement */
#define FRAGML_POLICY_ALL	"fragml_all"	  /* ... gate and placement */
#define FRAGML_POLICY_KDEFAULT	"kdefault"	  /* always the kernel default */
#define FRAGML_POLICY_COMPACT	"always_compact"  /* always THP with compaction */

/* 1 if the running kernel has the hooks (BTF has mm_policy_ops), 0 if not. */
int fragml_policy_supported(struct fragml_err *err);

/* Load, attach and pin the "fragml" policy; 0 if already attached. */
int fragml_policy_attach(struct fragml_err *err);

/* The same with a chosen variant; an attached policy is left as it is. */
int fragml_policy_attach_variant(const char *variant, struct fragml_err *err);

/* Detach now (the kernel default decides again) and remove the pin; 0 if none. */
int fragml_policy_detach(struct fragml_err *err);

/*
 * Atomically replace the attached policy by `variant` (BPF_LINK_UPDATE on
 * the pinned link): every decision is made by the old or the new program.
 * On failure the attached policy is unchanged.
 */
int fragml_policy_update(const char *variant, struct fragml_err *err);

/* Name of the attached variant into buf; 0, or -ENOENT if none is attached. */
int fragml_policy_current(char *buf, size_t len, struct fragml_err *err);

/*
 * The fallback gate's decision log (fragml_gate_log, fragml_gate_pending) at
 * full size (full: what fragml-collect --gate needs) or at its idle size (one
 * page, a few entries: nothing logs without a collector).  Resizing replaces
 * the two maps and swaps the attached policy for the same variant using the
 * new ones (fragml_policy_update()); 0 when they have that size already,
 * -ENOENT (err untouched) when no policy is attached.
 */
int fragml_policy_gate_log(bool full, struct fragml_err *err);

#ifdef __cplusplus
}
#endif
#endif /* FRAGML_POLICY_H */
