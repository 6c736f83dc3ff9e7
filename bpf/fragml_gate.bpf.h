/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The map the policy (bpf/fragml_policy.bpf.c) and the outcome tracer
 * (bpf/fragml_gatelog.bpf.c) share: pinned by name, so both objects must
 * define it identically, which this header makes sure of.
 */
#ifndef FRAGML_GATE_BPF_H
#define FRAGML_GATE_BPF_H

#include "fragml_gate_events.h"

/* pid -> the decision its allocation waits on.  LRU: a task that died with a
 * decision open (a lost close) is evicted rather than kept forever. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FRAGML_GATE_PENDING_MAX);
	__type(key, __u32);
	__type(value, struct fragml_gate_pending);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fragml_gate_pending SEC(".maps");

#endif /* FRAGML_GATE_BPF_H */
