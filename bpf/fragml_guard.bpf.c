// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The guard: BPF-LSM programs that let only fragml's own tools change
 * fragml's models, maps, links and pins (docs/guard.md).
 *
 * A task is fragml's when its executable (mm->exe_file) has one of the tool
 * names recorded in guard_trusted and lives in the directory recorded with
 * it (device + inode of that directory, taken when the guard is installed).
 * Kernel threads (no mm) pass.  Everything else gets -EPERM for:
 *
 *   bpf_map        opening a protected map for writing (pin, id, creation)
 *   bpf            map update/delete/freeze through an fd of a protected map,
 *                  a map iterator link on one, BPF_LINK_UPDATE/BPF_LINK_DETACH
 *                  on a protected link, fmod_ret programs aimed at the
 *                  guard's own hooks
 *   bpf_prog       a new program whose maps include a protected one (a
 *                  read-only fd is enough to build one that writes the map)
 *   inode_unlink, inode_rmdir, inode_rename
 *                  removing or renaming pins in a protected directory
 *   sb_umount      unmounting the bpffs that holds the pins
 *
 * Protected objects (guard_protect) and directories (guard_dirs) are filled
 * by the loader: every map and link reachable from the pins, each new model
 * version, the guard's own maps and links.  Each refusal is counted per kind
 * (guard_count) and the last FRAGML_GUARD_LOG_LEN are logged with pid, uid
 * and comm (guard_log).
 *
 * Its own object: only kernels that allow LSM programs load it; the loader
 * reports the guard as unavailable elsewhere.  Built with -mcpu=v3 (the log
 * slot is taken with an atomic fetch-and-add).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "fragml_guard_abi.h"
#include "fragml_kdefs.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define MAX_USED_MAPS	64	/* the kernel's limit per program */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fragml_guard_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} guard_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct fragml_guard_exe);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} guard_trusted SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);	/* ~70 objects: buckets and those, not 4096 elements */
	__type(key, struct fragml_guard_obj);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} guard_protect SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct fragml_guard_dir);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} guard_dirs SEC(".maps");

/* BTF ids (vmlinux) of the functions the guard's hooks run in. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32);
	__type(key, __u32);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} guard_shield SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FRAGML_GUARD_NR_KINDS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} guard_count SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FRAGML_GUARD_LOG_LEN);
	__type(key, __u32);
	__type(value, struct fragml_guard_rec);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} guard_log SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} guard_logpos SEC(".maps");

/* The bpf() command an untrusted task is in (the bpf_prog hook lacks it). */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, int);
} guard_task SEC(".maps");

static __always_inline bool enabled(void)
{
	__u32 zero = 0;
	struct fragml_guard_cfg *c = bpf_map_lookup_elem(&guard_cfg, &zero);

	return c && c->enabled;
}

/* Is the current task one of fragml's tools? */
static __always_inline bool trusted(void)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct fragml_guard_exe key = {};
	struct dentry *d, *parent;
	struct inode *dir;
	struct file *exe;
	struct mm_struct *mm;
	const unsigned char *name;

	mm = BPF_CORE_READ(t, mm);
	if (!mm)
		return true;	/* kernel thread */
	exe = BPF_CORE_READ(mm, exe_file);
	if (!exe)
		return false;
	d = BPF_CORE_READ(exe, f_path.dentry);
	parent = BPF_CORE_READ(d, d_parent);
	dir = BPF_CORE_READ(parent, d_inode);
	if (!dir)
		return false;
	key.dir_dev = BPF_CORE_READ(dir, i_sb, s_dev);
	key.dir_ino = BPF_CORE_READ(dir, i_ino);
	name = BPF_CORE_READ(d, d_name.name);
	if (bpf_probe_read_kernel_str(key.name, sizeof(key.name), name) < 0)
		return false;
	return bpf_map_lookup_elem(&guard_trusted, &key) != NULL;
}

static __always_inline bool is_protected(__u32 kind, __u32 id)
{
	struct fragml_guard_obj key = { .kind = kind, .id = id };

	return id && bpf_map_lookup_elem(&guard_protect, &key) != NULL;
}

static __always_inline bool dir_protected(struct inode *dir)
{
	struct fragml_guard_dir key = {};

	if (!dir)
		return false;
	key.dev = BPF_CORE_READ(dir, i_sb, s_dev);
	key.ino = BPF_CORE_READ(dir, i_ino);
	return bpf_map_lookup_elem(&guard_dirs, &key) != NULL;
}

static __noinline int refuse(__u32 kind, __s32 cmd, __u32 id)
{
	__u32 k = kind, zero = 0, slot;
	struct fragml_guard_rec *r;
	__u64 *c, *pos, seq;

	c = bpf_map_lookup_elem(&guard_count, &k);
	if (c)
		*c += 1;
	pos = bpf_map_lookup_elem(&guard_logpos, &zero);
	if (!pos)
		return -EPERM;
	seq = __sync_fetch_and_add(pos, 1);
	slot = seq % FRAGML_GUARD_LOG_LEN;
	r = bpf_map_lookup_elem(&guard_log, &slot);
	if (!r)
		return -EPERM;
	r->seq = 0;	/* a reader skips a half-written entry */
	r->ts = bpf_ktime_get_boot_ns();
	r->tgid = bpf_get_current_pid_tgid() >> 32;
	r->pid = (__u32)bpf_get_current_pid_tgid();
	r->uid = (__u32)bpf_get_current_uid_gid();
	r->kind = kind;
	r->cmd = cmd;
	r->id = id;
	bpf_get_current_comm(r->comm, sizeof(r->comm));
	r->seq = seq + 1;
	return -EPERM;
}

/*
 * The object behind one of the current task's fds (its private_data), or
 * NULL.  Not checked to be a map or a link: the commands that use it fail on
 * any other kind of file anyway, so a refusal there changes only the errno.
 */
static __always_inline void *fd_object(int fd)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct file **fds, *f = NULL;
	struct fdtable *fdt;

	if (fd < 0)
		return NULL;
	fdt = BPF_CORE_READ(t, files, fdt);
	if (!fdt || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) || !f)
		return NULL;
	return BPF_CORE_READ(f, private_data);
}

static __always_inline __u32 fd_map_id(int fd)
{
	struct bpf_map *m = fd_object(fd);

	return m ? BPF_CORE_READ(m, id) : 0;
}

static __always_inline __u32 fd_link_id(int fd)
{
	struct bpf_link *l = fd_object(fd);

	return l ? BPF_CORE_READ(l, id) : 0;
}

static __always_inline void note_cmd(int cmd)
{
	struct task_struct *t = bpf_get_current_task_btf();
	int *slot;

	/* storage only for tasks that load programs; others just reset it */
	slot = bpf_task_storage_get(&guard_task, t, 0,
				    cmd == BPF_PROG_LOAD ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
	if (slot)
		*slot = cmd;
}

SEC("lsm/bpf")
int BPF_PROG(fragml_guard_bpf, int cmd, union bpf_attr *attr, unsigned int size)
{
	__u32 id = 0, kind = FRAGML_GUARD_MAP_CMD, btf_id;
	bool hit = false;

	if (!enabled())
		return 0;
	switch (cmd) {
	case BPF_MAP_UPDATE_ELEM:
	case BPF_MAP_DELETE_ELEM:
	case BPF_MAP_LOOKUP_AND_DELETE_ELEM:
	case BPF_MAP_FREEZE:
		id = fd_map_id(BPF_CORE_READ(attr, map_fd));
		hit = is_protected(FRAGML_GUARD_OBJ_MAP, id);
		break;
	case BPF_MAP_UPDATE_BATCH:
	case BPF_MAP_DELETE_BATCH:
	case BPF_MAP_LOOKUP_AND_DELETE_BATCH:
		id = fd_map_id(BPF_CORE_READ(attr, batch.map_fd));
		hit = is_protected(FRAGML_GUARD_OBJ_MAP, id);
		break;
	case BPF_LINK_UPDATE:
		kind = FRAGML_GUARD_LINK;
		id = fd_link_id(BPF_CORE_READ(attr, link_update.link_fd));
		hit = is_protected(FRAGML_GUARD_OBJ_LINK, id);
		break;
	case BPF_LINK_DETACH:
		kind = FRAGML_GUARD_LINK;
		id = fd_link_id(BPF_CORE_READ(attr, link_detach.link_fd));
		hit = is_protected(FRAGML_GUARD_OBJ_LINK, id);
		break;
	case BPF_LINK_CREATE:
		/* a bpf_map_elem iterator may write the values of the map it walks */
		if (BPF_CORE_READ(attr, link_create.attach_type) == BPF_TRACE_ITER) {
			__u64 uinfo = BPF_CORE_READ(attr, link_create.iter_info);
			__u32 map_fd = 0;

			if (uinfo && BPF_CORE_READ(attr, link_create.iter_info_len) >= sizeof(__u32) &&
			    !bpf_probe_read_user(&map_fd, sizeof(map_fd), (void *)uinfo) && map_fd) {
				id = fd_map_id(map_fd);
				hit = is_protected(FRAGML_GUARD_OBJ_MAP, id);
			}
		}
		break;
	case BPF_PROG_LOAD:
		/* fmod_ret on the functions the guard's hooks run in would skip them */
		if (BPF_CORE_READ(attr, expected_attach_type) == BPF_MODIFY_RETURN &&
		    !BPF_CORE_READ(attr, attach_btf_obj_fd)) {
			btf_id = BPF_CORE_READ(attr, attach_btf_id);
			if (bpf_map_lookup_elem(&guard_shield, &btf_id)) {
				kind = FRAGML_GUARD_MODRET;
				id = btf_id;
				hit = true;
			}
		}
		break;
	}
	if (!hit) {
		if (cmd == BPF_PROG_LOAD || cmd == BPF_PROG_GET_FD_BY_ID || cmd == BPF_OBJ_GET) {
			if (!trusted())
				note_cmd(cmd);
		}
		return 0;
	}
	if (trusted())
		return 0;
	return refuse(kind, cmd, id);
}

SEC("lsm/bpf_map")
int BPF_PROG(fragml_guard_map, struct bpf_map *map, fmode_t fmode)
{
	__u32 id;

	if (!(fmode & FMODE_WRITE) || !enabled())
		return 0;
	id = BPF_CORE_READ(map, id);
	if (!is_protected(FRAGML_GUARD_OBJ_MAP, id) || trusted())
		return 0;
	return refuse(FRAGML_GUARD_MAP_OPEN, -1, id);
}

/* Reached with a new program (BPF_PROG_LOAD) or an existing one (by id or pin). */
SEC("lsm/bpf_prog")
int BPF_PROG(fragml_guard_prog, struct bpf_prog *prog)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct bpf_prog_aux *aux;
	struct bpf_map **used;
	__u32 n;
	int *cmd;

	if (!enabled())
		return 0;
	cmd = bpf_task_storage_get(&guard_task, t, 0, 0);
	if (!cmd || *cmd != BPF_PROG_LOAD)
		return 0;	/* untrusted tasks that load programs have one */
	aux = BPF_CORE_READ(prog, aux);
	n = BPF_CORE_READ(aux, used_map_cnt);
	used = BPF_CORE_READ(aux, used_maps);
	for (__u32 i = 0; i < MAX_USED_MAPS && i < n; i++) {
		struct bpf_map *m = NULL;
		__u32 id;

		if (bpf_probe_read_kernel(&m, sizeof(m), &used[i]) || !m)
			break;
		id = BPF_CORE_READ(m, id);
		if (is_protected(FRAGML_GUARD_OBJ_MAP, id))
			return trusted() ? 0 : refuse(FRAGML_GUARD_PROG, BPF_PROG_LOAD, id);
	}
	return 0;
}

SEC("lsm/inode_unlink")
int BPF_PROG(fragml_guard_unlink, struct inode *dir, struct dentry *dentry)
{
	if (!enabled() || !dir_protected(dir) || trusted())
		return 0;
	return refuse(FRAGML_GUARD_PIN, -1, 0);
}

SEC("lsm/inode_rmdir")
int BPF_PROG(fragml_guard_rmdir, struct inode *dir, struct dentry *dentry)
{
	if (!enabled())
		return 0;
	if (!dir_protected(dir) && !dir_protected(BPF_CORE_READ(dentry, d_inode)))
		return 0;
	return trusted() ? 0 : refuse(FRAGML_GUARD_PIN, -1, 0);
}

SEC("lsm/inode_rename")
int BPF_PROG(fragml_guard_rename, struct inode *old_dir, struct dentry *old_dentry,
	     struct inode *new_dir, struct dentry *new_dentry)
{
	if (!enabled())
		return 0;
	if (!dir_protected(old_dir) && !dir_protected(new_dir) &&
	    !dir_protected(BPF_CORE_READ(old_dentry, d_inode)))
		return 0;
	return trusted() ? 0 : refuse(FRAGML_GUARD_PIN, -1, 0);
}

SEC("lsm/sb_umount")
int BPF_PROG(fragml_guard_umount, struct vfsmount *mnt, int flags)
{
	struct fragml_guard_dir key = {};

	if (!enabled())
		return 0;
	key.dev = BPF_CORE_READ(mnt, mnt_sb, s_dev);
	if (!bpf_map_lookup_elem(&guard_dirs, &key) || trusted())
		return 0;
	return refuse(FRAGML_GUARD_UMOUNT, -1, 0);
}
