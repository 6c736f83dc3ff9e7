// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fragml core: the shared maps plus `fragml_eval_batch`, a syscall program
 * that evaluates the *live* model of a hook on vectors supplied by userspace
 * (BPF_PROG_TEST_RUN).  Used by the parity and hot-swap selftests and by
 * `make bench`; it goes through exactly the code real hooks use.
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

struct batch_state {
	__u32 hook;
	__u32 first;
	__u32 end;
	__u32 pos;	/* next vector: cycles first..end-1 without a division */
	__u32 flags;
	__u32 evaluated;
};

static long eval_one(__u64 i, void *data)
{
	struct batch_state *st = data;
	__u32 key = st->pos;
	struct fragml_result r, *out;
	const struct fragml_blob *m;
	struct fragml_vec *v;

	if (++st->pos >= st->end)
		st->pos = st->first;
	v = bpf_map_lookup_elem(&fragml_test_vecs, &key);
	if (!v)
		return 1;
	if (st->flags & FRAGML_TEST_F_EMPTY) {
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

	if (st.hook >= FRAGML_NR_HOOKS || !ctx->count || ctx->count > FRAGML_TEST_VECS ||
	    st.first >= FRAGML_TEST_VECS || st.end > FRAGML_TEST_VECS)
		return -EINVAL;
	n = (__u64)ctx->count * (ctx->repeat ? ctx->repeat : 1);
	if (n > (1 << 23))
		return -E2BIG;	/* bpf_loop limit */
	t0 = bpf_ktime_get_ns();
	bpf_loop(n, eval_one, &st, 0);
	ctx->elapsed_ns = bpf_ktime_get_ns() - t0;
	ctx->evaluated = st.evaluated;
	return 0;
}
