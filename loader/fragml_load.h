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
#define FRAGML_PIN_SUBDIR	"fragml"	/* everything fragml pins, under the bpffs */
#define FRAGML_PIN_DIR		FRAGML_DEFAULT_BPFFS "/" FRAGML_PIN_SUBDIR
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
	/* Only when the observe programs are attached now (the first load): */
	bool identify;		/* source identification for `fragml top`/`report`
				 * (fragml_src, fragml_src_slab, fragml_blocks); also
				 * replaces running observe programs that lack it */
	int64_t track_pages;	/* sampled pages followed to their free (the
				 * task_long_ppk feature): 0 = RAM pages /
				 * FRAGML_TRACK_RAM_DIV, < 0 = none */
	bool guard;		/* with install: also install the guard (BPF-LSM,
				 * docs/guard.md) where the kernel allows it */
	bool no_compiled;	/* publish without a compiled program per version:
				 * the map evaluator decides (fragml_publish) */
	bool test_run;		/* also load the test-run programs that
				 * fragml_kernel_eval/bench need (parity tests,
				 * benchmarks), and give each published version
				 * its compiled form for them; without it no tool
				 * pays their verification (docs/performance.md) */
};

/* What fragml_open() did, for the command to report. */
struct fragml_open_info {
	bool mounted_bpffs;	/* bpffs was not mounted and we mounted it */
	bool installed;		/* programs were loaded and attached now */
	bool enforce;		/* struct_ops policy attached (patched kernel) */
	int attached_progs;	/* observe programs attached (pinned links) */
	bool guard_active;	/* the guard protects the pins (opts.guard) */
	bool guard_new;		/* ... installed now */
	char guard_reason[160];	/* opts.guard and not active: why */
};

int fragml_open(struct fragml_handle **h, const struct fragml_open_opts *opts,
		struct fragml_open_info *info, struct fragml_err *err);
void fragml_close(struct fragml_handle *h);

/* Path of the pin directory (<bpffs>/fragml). */
const char *fragml_pin_dir(const struct fragml_handle *h);
/* The same before any handle: <bpffs>/fragml (bpffs NULL: FRAGML_DEFAULT_BPFFS)
 * into out[len]; 0, or -ENAMETOOLONG when it does not fit. */
int fragml_pin_dir_of(const char *bpffs, char *out, size_t len);
/* "a/b" into out (PATH_MAX bytes); -ENAMETOOLONG if it does not fit. */
int fragml_path_join(char *out, const char *a, const char *b);

/*
 * Publish a validated model atomically into its hook's slot: a fresh inner
 * map, frozen, swapped in with one map update.  The model that was running
 * becomes the rollback target.  *version receives the new version number.
 * On failure the running model is untouched.
 */
int fragml_publish(struct fragml_handle *h, const struct fragml_model *m,
		   uint32_t *version, struct fragml_err *err);

/*
 * The compiled form (docs/performance.md): with each publish or rollback
 * fragml generates a BPF program from the validated model and swaps it into
 * the hook's slot of the pinned program array fragml_cprog_rt; where the
 * kernel refuses it, the slot is emptied and the map evaluator decides.
 * What the last publish/rollback on this handle did:
 */
struct fragml_compiled_info {
	bool compiled;		/* the compiled program is in force */
	unsigned int hook;
	uint32_t version;
	unsigned int insns;	/* instructions generated */
	uint64_t load_ns;	/* generation + verifier + JIT (the swap's cost) */
	char note[FRAGML_ERR_MSG_MAX + 64];	/* one line when not compiled: why */
};
const struct fragml_compiled_info *fragml_compiled_last(const struct fragml_handle *h);

/* Swap a hook back to its previous model (and the current one becomes previous). */
int fragml_rollback(struct fragml_handle *h, unsigned int hook, uint32_t *version,
		    struct fragml_err *err);

/* Empty a hook's slot (the kernel default decides again); its model becomes
 * the rollback target.  fragml-load --unpublish. */
int fragml_unpublish(struct fragml_handle *h, unsigned int hook, struct fragml_err *err);

/* Write a site lifetime table (fragml_site_table_read()) into the observe
 * programs' pinned fragml_site_life map (FRAGML_SITE_F_TRAINED entries;
 * existing entries of the same sites are replaced, others kept).  Refuses,
 * before writing anything, a table larger than the map or a map of another
 * layout.  Returns the number of entries written. */
int fragml_site_table_publish(struct fragml_handle *h, const struct fragml_site_counts *t,
			      struct fragml_err *err);
/* Sites in the pinned table, how many of them were seeded, and the kernel
 * paths' entries beside them (-1: no table). */
int fragml_site_table_stat(struct fragml_handle *h, uint32_t *n, uint32_t *trained,
			   uint32_t *paths, uint32_t *max_entries);

struct fragml_hook_status {
	bool loaded;
	uint32_t version, prev_version, crc32;
	uint16_t n_trees, n_nodes, schema;
	uint8_t output, n_actions, max_depth;
	char sha256[FRAGML_SHA256_HEX];		/* of the model file (sha256sum model.bin) */
	uint64_t map_bytes;			/* memlock of this version's map, from the kernel */
	uint64_t decisions[FRAGML_MAX_ACTIONS];	/* summed over CPUs: the decisions in force */
	/* enforce mode, thp_fault and compaction: what the observe programs
	 * would have decided (not enforced; counted apart) */
	uint64_t shadow[FRAGML_MAX_ACTIONS];
};
int fragml_status(struct fragml_handle *h, unsigned int hook, struct fragml_hook_status *st,
		  struct fragml_err *err);

/* The model in force at `hook`, read back from the kernel (the same model the
 * file held: crc32 and SHA-256 match); *version its version.  -ENOENT if none. */
int fragml_live_model(struct fragml_handle *h, unsigned int hook, struct fragml_model *m,
		      uint32_t *version, struct fragml_err *err);

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
 * -ENOTSUP on a handle opened without fragml_open_opts.test_run.
 */
int fragml_kernel_eval(struct fragml_handle *h, unsigned int hook, const struct fragml_vec *vecs,
		       unsigned int n, struct fragml_result *out, bool count,
		       struct fragml_err *err);

/*
 * Time `repeat` passes over n vectors in the kernel; *ns = elapsed in the loop.
 * flags: FRAGML_TEST_F_COUNT decides exactly like a hook (fragml_decide: slot
 * lookup, walk, count); FRAGML_TEST_F_EMPTY only fetches the vectors (the
 * loop's own cost); 0 evaluates without counting.
 */
int fragml_kernel_bench(struct fragml_handle *h, unsigned int hook, const struct fragml_vec *vecs,
			unsigned int n, unsigned int repeat, unsigned int flags, uint64_t *ns,
			struct fragml_err *err);

/*
 * Which in-kernel path fragml_kernel_eval/bench take on this handle:
 * FRAGML_EVAL_MAP the map evaluator (fragml_eval_batch, syscall program);
 * FRAGML_EVAL_COMPILED what a hook does: the compiled program in the hook's
 * slot, the map evaluator when the slot is empty (fragml_test_batch_rt, raw_tp,
 * decisions always counted, 32 per program run: a run makes at most 33 tail
 * calls); FRAGML_EVAL_MAP_RT the map evaluator in that same raw_tp harness
 * (benchmarks).  fragml_kernel_compiled_decisions(): how many decisions of
 * the last call the compiled program made.
 */
enum { FRAGML_EVAL_MAP = 0, FRAGML_EVAL_COMPILED = 1, FRAGML_EVAL_MAP_RT = 2 };
int fragml_set_evaluator(struct fragml_handle *h, unsigned int evaluator);
uint32_t fragml_kernel_compiled_decisions(const struct fragml_handle *h);

/*
 * Remove everything fragml pinned (programs detach, maps are freed when their
 * last user goes): the kernel is back to its default behaviour.
 */
int fragml_detach(const struct fragml_open_opts *opts, struct fragml_err *err);

/*
 * Kernel memory, as the kernel accounts it (the `memlock` of each map and
 * program in fdinfo: map_mem_usage() for maps, JIT image pages for programs).
 */
struct fragml_kmem_obj {
	bool is_prog;
	uint32_t id;
	char name[16];
	char type[32];		/* map or program type name */
	uint32_t max_entries, key_size, value_size, flags;	/* programs: value_size = JIT bytes */
	uint64_t bytes;		/* memlock reported by the kernel */
};
struct fragml_kmem {
	uint64_t map_bytes, prog_bytes;
	unsigned int n_maps, n_progs;
	unsigned int n;		/* entries of obj: maps and programs, each once */
	struct fragml_kmem_obj *obj;
};
/* Everything reachable from the pin directory: pinned maps (model versions
 * included), attached programs (pinned links) and the maps they use, the
 * struct_ops policy.  km is reset first; free it with fragml_kmem_free(). */
int fragml_kmem_read(struct fragml_handle *h, struct fragml_kmem *km, struct fragml_err *err);
/* Add one map, program (and its maps) or link (and its program) fd to km;
 * each object is counted once.  Zero km before the first call. */
int fragml_kmem_add_fd(struct fragml_kmem *km, int fd, struct fragml_err *err);
/* memlock of one map or program fd, from fdinfo. */
int fragml_kmem_fd_bytes(int fd, uint64_t *bytes);
/* One "key:\tvalue" number of /proc/self/fdinfo/<fd>; -ENOENT without it. */
int fragml_fdinfo_u64(int fd, const char *key, uint64_t *val);
void fragml_kmem_free(struct fragml_kmem *km);

/*
 * What this kernel offers fragml (`fragml probe`).  Program types are probed
 * by loading and attaching a trivial program of each (bpf/fragml_probe.bpf.c,
 * detached at once), struct_ops by libbpf's feature probe; never from the
 * kernel version.  Needs root.  Not thread safe (libbpf's print callback).
 */
enum fragml_probe_prog {
	FRAGML_PROBE_TP_BTF, FRAGML_PROBE_RAW_TP, FRAGML_PROBE_TRACEPOINT,
	FRAGML_PROBE_SYSCALL, FRAGML_PROBE_STRUCT_OPS, FRAGML_PROBE_FENTRY,
	FRAGML_PROBE_LSM, FRAGML_PROBE_NR
};
#define FRAGML_PROBE_NR_MEMBERS	4	/* mm_policy_ops: thp_fault, compact, fallback, placement */
struct fragml_probe_type {
	const char *name;	/* "tp_btf", ... */
	bool loads;		/* the verifier accepted it */
	bool attaches;		/* ... and it attached (syscall: runs by test run; = loads) */
	int error;		/* negative errno of the step that failed, 0 if none */
	char detail[256];	/* which step failed and the kernel's reason */
};
struct fragml_probe_result {
	bool btf;		/* kernel BTF readable and parsed */
	char btf_path[256];
	bool policy_type;	/* struct mm_policy_ops in BTF (kernel-patches/) */
	bool policy_member[FRAGML_PROBE_NR_MEMBERS];
	bool bpffs_mounted;	/* on /sys/fs/bpf */
	bool tracefs_mounted;	/* tracepoint programs need it */
	bool lsm_known;		/* /sys/kernel/security/lsm readable */
	char lsm[256];		/* active LSMs, comma-separated */
	struct fragml_probe_type types[FRAGML_PROBE_NR];
	const char *mode;	/* "enforce", "observe" or "none" */
	char mode_reason[512];
};
int fragml_probe_kernel(struct fragml_probe_result *p, const char *btf_path, struct fragml_err *err);
const char *fragml_probe_member_name(unsigned int i);

/*
 * The guard (docs/guard.md): BPF-LSM programs that refuse (-EPERM) changes
 * to fragml's maps, links and pins by any program but fragml's own tools.
 * fragml_open() installs it with opts.guard on kernels that allow LSM
 * programs; elsewhere it is "unavailable" and nothing else changes.
 */
enum fragml_guard_state {
	FRAGML_GUARD_NONE,		/* never installed here */
	FRAGML_GUARD_ACTIVE,
	FRAGML_GUARD_UNAVAILABLE,	/* install refused: see reason */
	FRAGML_GUARD_REMOVED,		/* removed with fragml_guard_remove() */
};
#define FRAGML_GUARD_KINDS	7	/* refusal kinds, see fragml_guard_kind_name() */
#define FRAGML_GUARD_LOG	32
struct fragml_guard_event {
	uint64_t seq;			/* 1, 2, ... over the guard's lifetime */
	uint64_t boot_ns;		/* CLOCK_BOOTTIME of the refusal */
	uint32_t tgid, pid, uid, id;	/* offending task; map or link id (0: none) */
	int32_t cmd;			/* bpf() command, -1 for filesystem hooks */
	unsigned int kind;
	char comm[16];
};
struct fragml_guard_status {
	enum fragml_guard_state state;
	char reason[160];		/* not active: why */
	char trusted[256];		/* directory of the trusted tools */
	unsigned int protected_objs;	/* maps and links it protects */
	uint64_t refusals[FRAGML_GUARD_KINDS], total;
	unsigned int n_log;		/* log[] oldest first */
	struct fragml_guard_event log[FRAGML_GUARD_LOG];
};
int fragml_guard_status(struct fragml_handle *h, struct fragml_guard_status *st,
			struct fragml_err *err);
/* "map_open", "map_cmd", "link", "prog_load", "fmod_ret", "pin", "umount" */
const char *fragml_guard_kind_name(unsigned int kind);
/* Switch the guard off and unpin it (only fragml's tools can); 0 if absent. */
int fragml_guard_remove(const struct fragml_open_opts *opts, struct fragml_err *err);

/* Tracking maps sized to the machine (max_entries; 0 = not created). */
#define FRAGML_TRACK_RAM_DIV	512	/* default --track-pages: one page per 2 MB of RAM */
struct fragml_track_sizes {
	uint32_t live;		/* fragml_live: tracked pages (0: no tracking) */
	uint32_t filter_slots;	/* fragml_track_filter: pageblocks, power of two */
	uint32_t blocks;	/* fragml_blocks: polluted pageblocks */
	uint32_t tasks;		/* fragml_task_state: processes */
	uint32_t sources;	/* fragml_src (LRU, preallocated) */
	uint32_t slab_sources;	/* fragml_src_slab (LRU, preallocated) */
	uint32_t regions;	/* collector: fragml_regions (LRU, preallocated) */
	uint32_t ringbuf;	/* collector: default ring buffer bytes */
};
/* track_pages as in fragml_open_opts. */
void fragml_track_sizes(uint64_t ram_pages, int64_t track_pages, struct fragml_track_sizes *ts);
/* RAM of this machine in 4 KB pages. */
uint64_t fragml_ram_pages(void);

#ifdef __cplusplus
}
#endif
#endif /* FRAGML_LOAD_H */
