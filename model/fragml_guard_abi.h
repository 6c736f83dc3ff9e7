/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The guard (bpf/fragml_guard.bpf.c <-> loader/guard.c): keys and values of
 * its maps, and the kinds of refusal it counts and logs.  docs/guard.md.
 * Fixed-width types only; userspace includes <linux/types.h> first.
 */
#ifndef FRAGML_GUARD_ABI_H
#define FRAGML_GUARD_ABI_H

/* What a refusal was about (index of guard_count, kind of a log entry). */
enum fragml_guard_kind {
	FRAGML_GUARD_MAP_OPEN,	/* open of a protected map for writing (pin, id) */
	FRAGML_GUARD_MAP_CMD,	/* update/delete/freeze through a map fd */
	FRAGML_GUARD_LINK,	/* BPF_LINK_UPDATE / BPF_LINK_DETACH of a protected link */
	FRAGML_GUARD_PROG,	/* a new program that uses a protected map */
	FRAGML_GUARD_MODRET,	/* fmod_ret program on one of the guard's own hooks */
	FRAGML_GUARD_PIN,	/* unlink/rmdir/rename in a protected pin directory */
	FRAGML_GUARD_UMOUNT,	/* unmount of the bpffs holding the pins */
	FRAGML_GUARD_NR_KINDS
};

/* guard_protect key: one kernel object by its id (ids are per kind). */
#define FRAGML_GUARD_OBJ_MAP	1
#define FRAGML_GUARD_OBJ_LINK	2
struct fragml_guard_obj {
	__u32 kind;		/* FRAGML_GUARD_OBJ_* */
	__u32 id;
};

/* guard_trusted key: an executable by its directory and name. */
#define FRAGML_GUARD_NAME_LEN	16
struct fragml_guard_exe {
	__u64 dir_dev;		/* kernel dev_t (MAJOR << 20 | MINOR) of the directory's fs */
	__u64 dir_ino;
	char name[FRAGML_GUARD_NAME_LEN];	/* file name, NUL-padded */
};

/* guard_dirs key: a protected pin directory; ino 0 = the whole bpffs (umount). */
struct fragml_guard_dir {
	__u64 dev;		/* kernel dev_t */
	__u64 ino;
};

/* guard_cfg[0] */
struct fragml_guard_cfg {
	__u32 enabled;		/* 0: every hook allows (set first when the guard is removed) */
	__u32 pad;
};

/* guard_log: a ring of the last refusals; guard_logpos[0] counts them all. */
#define FRAGML_GUARD_LOG_LEN	32
struct fragml_guard_rec {
	__u64 ts;		/* bpf_ktime_get_boot_ns() */
	__u64 seq;		/* 1 + position in the ring's history (0: empty slot) */
	__u32 tgid, pid, uid;
	__u32 kind;		/* enum fragml_guard_kind */
	__s32 cmd;		/* bpf() command, or -1 for the filesystem hooks */
	__u32 id;		/* object id (maps, links), 0 when not known */
	char comm[16];
};

#endif /* FRAGML_GUARD_ABI_H */
