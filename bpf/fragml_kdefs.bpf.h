/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Kernel macros the BPF programs use by name: BTF (vmlinux.h) carries types
 * and enums but no #defines.  Values stable across the kernels fragml runs on.
 */
#ifndef FRAGML_KDEFS_BPF_H
#define FRAGML_KDEFS_BPF_H

/* include/uapi/asm-generic/errno-base.h */
#define EPERM		1
#define E2BIG		7
#define EINVAL		22

/* include/linux/sched.h */
#define PF_MEMALLOC	0x00000800
#define PF_KTHREAD	0x00200000

/* include/linux/fs.h */
#define FMODE_WRITE	0x2

#endif /* FRAGML_KDEFS_BPF_H */
