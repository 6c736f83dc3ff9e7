/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The kernel side of the enforcing policy: the types kernel-patches/ adds
 * (include/linux/mm_policy.h), for BPF only.
 *
 * Built with FRAGML_VMLINUX_PATCHED the types come from vmlinux-patched.h,
 * the BTF dump of the patched kernel (`make kernel`); otherwise from the
 * CO-RE mirror below, so that building libfragml never needs the kernel
 * build.  libbpf relocates every field access against the running kernel's
 * BTF and matches the struct_ops type by name, so both builds load the same.
 * The VM selftests build the policy both ways (selftests/vm/build.mk).
 */
#ifndef FRAGML_POLICY_KERN_H
#define FRAGML_POLICY_KERN_H

#ifndef FRAGML_VMLINUX_PATCHED
#ifndef __bpf__
#error "fragml_policy_kern.h is for BPF programs only"
#endif

enum mm_policy_thp_action {
	MM_POLICY_THP_DECLINE		= 0,
	MM_POLICY_THP_NO_COMPACT	= 1,
	MM_POLICY_THP_COMPACT		= 2,
	MM_POLICY_THP_DEFAULT		= 3,
};

enum mm_policy_compact_action {
	MM_POLICY_COMPACT_SKIP		= 0,
	MM_POLICY_COMPACT_RUN		= 1,
};

enum mm_policy_fallback_action {
	MM_POLICY_FALLBACK_NOW		= 0,
	MM_POLICY_FALLBACK_DEFER	= 1,
	MM_POLICY_FALLBACK_COMPACT	= 2,
};

enum mm_policy_placement_action {
	MM_POLICY_PLACE_DEFAULT		= 0,
	MM_POLICY_PLACE_CLAIM		= 1,
	MM_POLICY_PLACE_SKIP		= 2,
	MM_POLICY_PLACE_STEAL		= 3,
};

struct mm_policy_placement_ctx {
	__u64 zone_free_pages;
	__u64 zone_managed_pages;
	__u64 block_pfn;
	__u32 free_pages;
	__u32 movable_pages;
	__u32 alike_pages;
	__u32 block_pages;
	__u32 order;
	__u32 free_order;
	__s32 start_mt;
	__s32 block_mt;
	__u32 pid;
	__u32 tgid;
	__u32 zone_idx;
	__s32 nid;
	__u8 kernel_claims;
	__u8 in_task;
	__u8 pad[6];
} __attribute__((preserve_access_index));

struct mm_policy_fallback_ctx {
	__u64 free_pages;
	__u64 managed_pages;
	__u64 file_pages;
	__u64 anon_pages;
	__u64 high_wmark;
	__u64 free_huge;
	__u32 gfp;
	__u32 order;
	__s32 migratetype;
	__s32 nid;
	__u32 zone_idx;
	__u32 pid;
	__u8 can_defer;
	__u8 atomic;
	__u8 kthread;
	__u8 nofragment_zone;
} __attribute__((preserve_access_index));

struct mm_policy_thp_ctx {
	__u64 address;
	__u64 vma_start;
	__u64 vma_end;
	__u64 vm_flags;
	__u64 orders;
	__u64 mm_anon_pages;
	__u64 node_free_pages;
	__u64 node_free_huge;
	__u32 order;
	__u32 gfp;
	__s32 nid;
	__u8 huge_advised;
	__u8 region_in_vma;
	__u8 write;
	__u8 pad;
} __attribute__((preserve_access_index));

struct mm_policy_compact_ctx {
	__u64 free_pages;
	__u64 free_huge;
	__u64 managed_pages;
	__s32 order;
	__s32 frag_index;
	__u32 prio;
	__u32 gfp;
	__s32 nid;
	__u32 zone_idx;
	__u32 defer_shift;
	__u8 proactive;
	__u8 kthread;
	__u8 pad[2];
} __attribute__((preserve_access_index));

struct mm_policy_ops {
	int (*thp_fault)(struct mm_policy_thp_ctx *ctx);
	int (*compact)(struct mm_policy_compact_ctx *ctx);
	int (*fallback)(struct mm_policy_fallback_ctx *ctx);
	int (*placement)(struct mm_policy_placement_ctx *ctx);
	char name[16];
};
#endif /* !FRAGML_VMLINUX_PATCHED */

/* fragml's action numbers are the kernel's: models pass straight through. */
_Static_assert(FRAGML_THP_DECLINE == MM_POLICY_THP_DECLINE &&
	       FRAGML_THP_NO_COMPACT == MM_POLICY_THP_NO_COMPACT &&
	       FRAGML_THP_COMPACT == MM_POLICY_THP_COMPACT &&
	       FRAGML_THP_DEFAULT == MM_POLICY_THP_DEFAULT,
	       "THP actions differ from enum mm_policy_thp_action");
_Static_assert(FRAGML_COMPACT_SKIP == MM_POLICY_COMPACT_SKIP &&
	       FRAGML_COMPACT_RUN == MM_POLICY_COMPACT_RUN,
	       "compaction actions differ from enum mm_policy_compact_action");
_Static_assert(FRAGML_FALLBACK_NOW == MM_POLICY_FALLBACK_NOW &&
	       FRAGML_FALLBACK_DEFER == MM_POLICY_FALLBACK_DEFER &&
	       FRAGML_FALLBACK_COMPACT == MM_POLICY_FALLBACK_COMPACT,
	       "fallback actions differ from enum mm_policy_fallback_action");
_Static_assert(FRAGML_PLACE_DEFAULT == MM_POLICY_PLACE_DEFAULT &&
	       FRAGML_PLACE_CLAIM == MM_POLICY_PLACE_CLAIM &&
	       FRAGML_PLACE_SKIP == MM_POLICY_PLACE_SKIP &&
	       FRAGML_PLACE_STEAL == MM_POLICY_PLACE_STEAL,
	       "placement actions differ from enum mm_policy_placement_action");

#endif /* FRAGML_POLICY_KERN_H */
