// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A struct_ops map of another type (tcp_congestion_ops) for the VM selftest
 * that updates the policy link to it and expects the kernel to refuse.
 */
#include "vmlinux-patched.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("struct_ops")
__u32 BPF_PROG(wrong_ssthresh, struct sock *sk)
{
	return 2;
}

SEC("struct_ops")
void BPF_PROG(wrong_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
}

SEC("struct_ops")
__u32 BPF_PROG(wrong_undo_cwnd, struct sock *sk)
{
	return 2;
}

SEC(".struct_ops.link")
struct tcp_congestion_ops fragml_wrong = {
	.ssthresh	= (void *)wrong_ssthresh,
	.cong_avoid	= (void *)wrong_cong_avoid,
	.undo_cwnd	= (void *)wrong_undo_cwnd,
	.name		= "fragml_wrong",
};
