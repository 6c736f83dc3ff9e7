// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fragml core: the shared maps plus `fragml_eval_batch`, a syscall program
 * that evaluates the *live* model of a hook on vectors supplied by userspace
 * (BPF_PROG_TEST_RUN).  Used by the parity and hot-swap selftests and by
 * `make bench`; it goes through exactly the code real hooks use.
 *
 * `fragml_test_batch_rt` does the same as a raw_tp program run by test run,
 * with FRAGML_TEST_F_COMPILED the way a hook reaches a compiled model version
 * (fragml_abi.h, loader/compile.c): the vector in the per-CPU fragml_cio_rt,
 * a tail call through fragml_cprog_rt from a global function (the tail call
 * returns to its caller), the map evaluator when the slot is empty.  A
 * syscall program cannot tail-call (it is sleepable): hence raw_tp, whose
 * loop is an open-coded iterator (a tail call in a bpf_loop() callback is
 * refused by newer kernels).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "fragml_eval.bpf.h"
#include "fragml_kdefs.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FRAGML_TEST_VECS);
	__type(key, __u32);
	__type(value, struct fragml_vec);
} fragml_test_vecs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FRAGML_TEST_VECS);
	__type(key, __u32);
	__type(value, struct fragml_result);
} fragml_test_out SEC(".maps");

/* Compiled model versions for raw_tp callers, one per hook (the loader swaps them). */
FRAGML_CPROG_ARRAY(fragml_cprog_rt);

/* Their input (vector) and output (result), per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fragml_cio);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fragml_cio_rt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fragml_test_stat);
} fragml_test_stat SEC(".maps");

/*
 * The compiled program of a hook on the vector in fragml_cio_rt: its action,
 * or -1 when no compiled program is in the slot.  One function per hook, so
 * that the slot is a constant: the verifier then makes the tail call a direct
 * jump, patched when the loader swaps the slot (no indirect branch, no
 * retpoline).  Global, so that neither clang nor the verifier takes the
 * fall-through -1 for the only result.
 */
#define FRAGML_CCALL(name, hook) FRAGML_TAIL_DECIDE(name, fragml_cprog_rt, hook)
FRAGML_CCALL(fragml_ccall_rt_lifetime, FRAGML_HOOK_LIFETIME)
FRAGML_CCALL(fragml_ccall_rt_thp, FRAGML_HOOK_THP_FAULT)
FRAGML_CCALL(fragml_ccall_rt_compact, FRAGML_HOOK_COMPACTION)
FRAGML_CCALL(fragml_ccall_rt_fallback, FRAGML_HOOK_FALLBACK)
FRAGML_CCALL(fragml_ccall_rt_placement, FRAGML_HOOK_PLACEMENT)
_Static_assert(FRAGML_NR_HOOKS == 5, "one fragml_ccall_rt_* per hook");
/* user space names migratetypes by model/fragml_features.h */
_Static_assert(FRAGML_MT_UNMOVABLE == MIGRATE_UNMOVABLE && FRAGML_MT_MOVABLE == MIGRATE_MOVABLE &&
	       FRAGML_MT_RECLAIMABLE == MIGRATE_RECLAIMABLE, "enum fragml_migratetype");

static __always_inline long fragml_ccall_rt(void *ctx, __u32 hook)
{
	switch (hook) {
	case FRAGML_HOOK_LIFETIME:	return fragml_ccall_rt_lifetime(ctx);
	case FRAGML_HOOK_THP_FAULT:	return fragml_ccall_rt_thp(ctx);
	case FRAGML_HOOK_COMPACTION:	return fragml_ccall_rt_compact(ctx);
	case FRAGML_HOOK_FALLBACK:	return fragml_ccall_rt_fallback(ctx);
	case FRAGML_HOOK_PLACEMENT:	return fragml_ccall_rt_placement(ctx);
	}
	return -1;
}

/* The batch's range of test vectors and its length: 0 or a negative errno. */
static __always_inline int batch_check(__u32 hook, __u32 first, __u32 count, __u32 repeat, __u64 *n)
{
	if (hook >= FRAGML_NR_HOOKS || !count || count > FRAGML_TEST_VECS ||
	    first >= FRAGML_TEST_VECS || first + count > FRAGML_TEST_VECS)
		return -EINVAL;
	*n = (__u64)count * (repeat ? repeat : 1);
	if (*n > (1 << 23))
		return -E2BIG;	/* bpf_loop limit */
	return 0;
}

/* Scalars only: the raw_tp batch hands it to a global function. */
struct batch_state {
	__u32 hook;
	__u32 first;
	__u32 end;
	__u32 pos;	/* next vector: cycles first..end-1 without a division */
	__u32 flags;
	__u32 evaluated;
	__u32 compiled;
};

/* cio: the raw_tp caller's per-CPU input (it may take the compiled path); NULL otherwise */
static __always_inline long eval_one_in(struct batch_state *st, void *ctx, struct fragml_cio *cio)
{
	__u32 key = st->pos;
	struct fragml_result r, *out;
	const struct fragml_blob *m;
	struct fragml_vec *v;

	if (++st->pos >= st->end)
		st->pos = st->first;
	v = bpf_map_lookup_elem(&fragml_test_vecs, &key);
	if (!v)
		return 1;
	if (cio && (st->flags & FRAGML_TEST_F_COMPILED)) {
		/* what a hook does: the vector is in the per-CPU input (copied here) */
		__builtin_memcpy(&cio->v, v, sizeof(*v));
		if (st->flags & FRAGML_TEST_F_EMPTY) {
			r.version = 0, r.action = 0, r.score = 0;
		} else if (fragml_ccall_rt(ctx, st->hook) >= 0) {
			r = cio->r;
			st->compiled++;
		} else {
			fragml_decide(st->hook, &cio->v, &r);
		}
	} else if (st->flags & FRAGML_TEST_F_EMPTY) {
		barrier_var(v);
		r.version = 0, r.action = 0, r.score = 0;
	} else if (st->flags & FRAGML_TEST_F_COUNT) {
		fragml_decide(st->hook, v, &r);
	} else {
		m = fragml_model_get(st->hook);
		if (m && m->version)
			fragml_eval_blob(m, v, &r);
		else
			r.version = 0, r.action = 0, r.score = 0;
	}
	st->evaluated++;
	if (!(st->flags & FRAGML_TEST_F_NORESULT)) {
		out = bpf_map_lookup_elem(&fragml_test_out, &key);
		if (out)
			*out = r;
	}
	return 0;
}

static long eval_one(__u64 i, void *data)
{
	return eval_one_in(data, NULL, NULL);
}

/*
 * One vector of the raw_tp batch.  Not a bpf_loop() callback: kernels since
 * 6.18 refuse a tail call reachable from a callback ("cannot tail call
 * within callback"), so the raw_tp program loops with an open-coded iterator
 * and calls this; global, so that the verifier checks it once instead of
 * once per iterator state.
 */
__noinline int fragml_rt_step(void *ctx __arg_ctx, struct batch_state *st, struct fragml_cio *cio)
{
	if (!st)
		return 1;
	return eval_one_in(st, ctx, cio);
}

SEC("syscall")
int fragml_eval_batch(struct fragml_test_ctx *ctx)
{
	struct batch_state st = {
		.hook = ctx->hook,
		.first = ctx->first,
		.end = ctx->first + ctx->count,
		.pos = ctx->first,
		.flags = ctx->flags,
	};
	__u64 t0, n;
	int ret = batch_check(st.hook, st.first, ctx->count, ctx->repeat, &n);

	if (ret)
		return ret;
	t0 = bpf_ktime_get_ns();
	bpf_loop(n, eval_one, &st, 0);
	ctx->elapsed_ns = bpf_ktime_get_ns() - t0;
	ctx->evaluated = st.evaluated;
	return 0;
}

SEC("raw_tp")
int fragml_test_batch_rt(__u64 *args)
{
	struct batch_state st = {
		.hook = args[FRAGML_RT_HOOK],
		.first = args[FRAGML_RT_FIRST],
		.flags = args[FRAGML_RT_FLAGS] | FRAGML_TEST_F_COUNT,
	};
	__u32 count = args[FRAGML_RT_COUNT], repeat = args[FRAGML_RT_REPEAT], zero = 0;
	struct fragml_test_stat *out = bpf_map_lookup_elem(&fragml_test_stat, &zero);
	struct fragml_cio *cio;
	__u64 t0, n;
	int i;

	if (!out)
		return 0;
	st.end = st.first + count;
	st.pos = st.first;
	cio = bpf_map_lookup_elem(&fragml_cio_rt, &zero);
	out->ret = batch_check(st.hook, st.first, count, repeat, &n);
	if (out->ret)
		return 0;
	t0 = bpf_ktime_get_ns();
	bpf_for(i, 0, n) {
		if (fragml_rt_step(args, &st, cio))
			break;
	}
	out->elapsed_ns = bpf_ktime_get_ns() - t0;
	out->evaluated = st.evaluated;
	out->compiled = st.compiled;
	return 0;
}
