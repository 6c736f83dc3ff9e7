// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libfragml: the guard (bpf/fragml_guard.bpf.c, docs/guard.md).  Installs
 * the BPF-LSM programs under <pin dir>/guard, tells them which tools are
 * fragml's and what to protect, reports their refusals, and removes them.
 *
 * State that outlives the process: <pin dir>/guard_state (a one-entry map
 * made here, so that `fragml status` can say why the guard is unavailable),
 * and under <pin dir>/guard the guard's maps (pinned by name) and links.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "guard.h"
#include "fragml_guard_abi.h"
#include "fragml_guard.skel.h"

_Static_assert(FRAGML_GUARD_KINDS == FRAGML_GUARD_NR_KINDS, "guard kinds");
_Static_assert(FRAGML_GUARD_LOG == FRAGML_GUARD_LOG_LEN, "guard log length");

/* The executables the guard trusts, in the directory of the installing one. */
static const char *const trusted_names[] = { "fragml-load", "fragml", "fragml-collect" };

/* Functions an fmod_ret program could use to skip the guard's hooks. */
static const char *const shield_funcs[] = {
	"security_bpf", "security_bpf_map", "security_bpf_prog", "security_inode_unlink",
	"security_inode_rmdir", "security_inode_rename", "security_sb_umount",
	"bpf_lsm_bpf", "bpf_lsm_bpf_map", "bpf_lsm_bpf_prog", "bpf_lsm_inode_unlink",
	"bpf_lsm_inode_rmdir", "bpf_lsm_inode_rename", "bpf_lsm_sb_umount",
};

static const char *const kind_names[FRAGML_GUARD_NR_KINDS] = {
	[FRAGML_GUARD_MAP_OPEN] = "map_open", [FRAGML_GUARD_MAP_CMD] = "map_cmd",
	[FRAGML_GUARD_LINK] = "link", [FRAGML_GUARD_PROG] = "prog_load",
	[FRAGML_GUARD_MODRET] = "fmod_ret", [FRAGML_GUARD_PIN] = "pin",
	[FRAGML_GUARD_UMOUNT] = "umount",
};

/* Value of <pin dir>/guard_state. */
struct guard_state {
	__u32 state;		/* enum fragml_guard_state */
	__s32 err;
	char reason[160];
	char trusted[256];
};

const char *fragml_guard_kind_name(unsigned int kind)
{
	return kind < FRAGML_GUARD_NR_KINDS ? kind_names[kind] : "?";
}

/* The kernel's dev_t, as the LSM programs read it from a super_block. */
static __u64 kdev(dev_t d)
{
	return ((__u64)major(d) << 20) | minor(d);
}

static int open_guard_map(const char *dir, const char *name, bool rdonly)
{
	LIBBPF_OPTS(bpf_obj_get_opts, o, .file_flags = rdonly ? BPF_F_RDONLY : 0);
	char p[PATH_MAX];

	if (snprintf(p, sizeof(p), "%s/guard/%s", dir, name) >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return bpf_obj_get_opts(p, &o);
}

bool fragml_guard_pinned(const char *dir)
{
	char p[PATH_MAX];

	return snprintf(p, sizeof(p), "%s/guard/links", dir) < PATH_MAX && fragml_pin_count(p) > 0;
}

static int write_state(const char *dir, const struct guard_state *gs)
{
	char p[PATH_MAX];
	__u32 zero = 0;
	int fd, ret = 0;

	if (fragml_path_join(p, dir, "guard_state"))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(p);
	if (fd < 0) {
		fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "guard_state", sizeof(__u32), sizeof(*gs), 1, NULL);
		if (fd < 0)
			return -errno;
		if (bpf_obj_pin(fd, p))
			ret = -errno;
	}
	if (!ret && bpf_map_update_elem(fd, &zero, gs, BPF_ANY))
		ret = -errno;
	close(fd);
	return ret;
}

static int read_state(const char *dir, struct guard_state *gs)
{
	LIBBPF_OPTS(bpf_obj_get_opts, o, .file_flags = BPF_F_RDONLY);
	char p[PATH_MAX];
	__u32 zero = 0;
	int fd, ret = 0;

	memset(gs, 0, sizeof(*gs));
	if (fragml_path_join(p, dir, "guard_state"))
		return -ENAMETOOLONG;
	fd = bpf_obj_get_opts(p, &o);
	if (fd < 0)
		return -errno;
	if (bpf_map_lookup_elem(fd, &zero, gs))
		ret = -errno;
	close(fd);
	return ret;
}

static void protect(int pfd, __u32 kind, __u32 id)
{
	struct fragml_guard_obj k = { .kind = kind, .id = id };
	__u8 one = 1;

	if (id)
		bpf_map_update_elem(pfd, &k, &one, BPF_ANY);
}

/* Forget objects that are gone (ids are not reused before they wrap). */
static void drop_stale(int pfd)
{
	struct fragml_guard_obj k, next, dead[64];
	unsigned int n = 0;
	void *prev = NULL;

	while (n < 64 && bpf_map_get_next_key(pfd, prev, &next) == 0) {
		int fd = next.kind == FRAGML_GUARD_OBJ_LINK ? bpf_link_get_fd_by_id(next.id)
							    : bpf_map_get_fd_by_id(next.id);

		if (fd >= 0)
			close(fd);
		else if (errno == ENOENT)
			dead[n++] = next;
		k = next;
		prev = &k;
	}
	for (unsigned int i = 0; i < n; i++)
		bpf_map_delete_elem(pfd, &dead[i]);
}

/* Every link pinned under dir, recursively. */
static void protect_links(int pfd, const char *dir)
{
	DIR *d = opendir(dir);
	char p[PATH_MAX];
	struct dirent *e;
	uint64_t id;

	if (!d)
		return;
	while ((e = readdir(d))) {
		int fd;

		if (e->d_name[0] == '.' || fragml_path_join(p, dir, e->d_name))
			continue;
		if (e->d_type == DT_DIR) {
			protect_links(pfd, p);
			continue;
		}
		fd = bpf_obj_get(p);
		if (fd < 0)
			continue;
		if (fragml_fdinfo_u64(fd, "link_id", &id) == 0)
			protect(pfd, FRAGML_GUARD_OBJ_LINK, (__u32)id);
		close(fd);
	}
	closedir(d);
}

static void refresh(struct fragml_handle *h, int pfd)
{
	const char *dir = fragml_pin_dir(h);
	struct fragml_kmem km;
	char p[PATH_MAX];
	int fd;

	drop_stale(pfd);
	/* maps pinned, and the maps of every pinned program and link */
	if (fragml_kmem_read(h, &km, NULL) == 0) {
		for (unsigned int i = 0; i < km.n; i++)
			if (!km.obj[i].is_prog)
				protect(pfd, FRAGML_GUARD_OBJ_MAP, km.obj[i].id);
		fragml_kmem_free(&km);
	}
	/* the model versions in the slots, pinned or not */
	if (fragml_path_join(p, dir, "fragml_models") == 0 && (fd = bpf_obj_get(p)) >= 0) {
		for (__u32 k = 0; k < FRAGML_NR_HOOKS; k++) {
			__u32 id = 0;

			if (bpf_map_lookup_elem(fd, &k, &id) == 0)
				protect(pfd, FRAGML_GUARD_OBJ_MAP, id);
		}
		close(fd);
	}
	protect_links(pfd, dir);
}

void fragml_guard_refresh(struct fragml_handle *h)
{
	int pfd = open_guard_map(fragml_pin_dir(h), "guard_protect", false);

	if (pfd >= 0) {
		refresh(h, pfd);
		close(pfd);
	}
}

void fragml_guard_protect_fd(struct fragml_handle *h, int map_fd)
{
	struct bpf_map_info mi = {};
	__u32 len = sizeof(mi);
	int pfd = open_guard_map(fragml_pin_dir(h), "guard_protect", false);

	if (pfd < 0)
		return;
	if (bpf_map_get_info_by_fd(map_fd, &mi, &len) == 0)
		protect(pfd, FRAGML_GUARD_OBJ_MAP, mi.id);
	close(pfd);
}

static int add_dir(int fd, const char *path, bool whole_fs)
{
	struct fragml_guard_dir k = {};
	struct stat st;
	__u8 one = 1;

	if (stat(path, &st))
		return -errno;
	k.dev = kdev(st.st_dev);
	k.ino = whole_fs ? 0 : st.st_ino;
	return bpf_map_update_elem(fd, &k, &one, BPF_ANY) ? -errno : 0;
}

/* Trust fragml's tools in the directory of this executable. */
static int add_trusted(int fd, struct guard_state *gs)
{
	char exe[PATH_MAX];
	struct stat st;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	__u8 one = 1;

	if (n <= 0)
		return -errno;
	exe[n] = '\0';
	snprintf(gs->trusted, sizeof(gs->trusted), "%s", dirname(exe));
	if (stat(gs->trusted, &st))
		return -errno;
	for (size_t i = 0; i < sizeof(trusted_names) / sizeof(trusted_names[0]); i++) {
		struct fragml_guard_exe k = { .dir_dev = kdev(st.st_dev), .dir_ino = st.st_ino };

		strncpy(k.name, trusted_names[i], sizeof(k.name) - 1);
		if (bpf_map_update_elem(fd, &k, &one, BPF_ANY))
			return -errno;
	}
	return 0;
}

static void add_shield(int fd)
{
	struct btf *btf = btf__load_vmlinux_btf();
	__u8 one = 1;

	if (!btf)
		return;
	for (size_t i = 0; i < sizeof(shield_funcs) / sizeof(shield_funcs[0]); i++) {
		int id = btf__find_by_name_kind(btf, shield_funcs[i], BTF_KIND_FUNC);

		if (id > 0)
			bpf_map_update_elem(fd, &id, &one, BPF_ANY);
	}
	btf__free(btf);
}

static int set_enabled(struct fragml_guard *g, bool on)
{
	struct fragml_guard_cfg c = { .enabled = on };
	__u32 zero = 0;

	return bpf_map_update_elem(bpf_map__fd(g->maps.guard_cfg), &zero, &c, BPF_ANY) ? -errno : 0;
}

/*
 * With the guard on and a throw-away map protected, may this process open
 * that map for writing?  If not, the kernel does not see it as one of the
 * trusted tools (another name, another directory, a file system whose inode
 * numbers differ from stat's) and the guard would lock it out.
 */
static int self_check(struct fragml_guard *g)
{
	int pfd = bpf_map__fd(g->maps.guard_protect), fd, fd2, ret = 0;
	struct bpf_map_info mi = {};
	struct fragml_guard_obj k;
	__u32 len = sizeof(mi);

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "guard_probe", 4, 4, 1, NULL);
	if (fd < 0)
		return -errno;
	if (bpf_map_get_info_by_fd(fd, &mi, &len)) {
		ret = -errno;
		goto out;
	}
	protect(pfd, FRAGML_GUARD_OBJ_MAP, mi.id);
	ret = set_enabled(g, true);
	if (ret)
		goto out;
	fd2 = bpf_map_get_fd_by_id(mi.id);
	if (fd2 < 0)
		ret = -errno;
	else
		close(fd2);
	set_enabled(g, false);
out:
	k = (struct fragml_guard_obj){ .kind = FRAGML_GUARD_OBJ_MAP, .id = mi.id };
	bpf_map_delete_elem(pfd, &k);
	close(fd);
	return ret;
}

static void unavailable(const char *dir, struct fragml_open_info *info, struct guard_state *gs,
			int err, const char *fmt, const char *arg)
{
	gs->state = FRAGML_GUARD_UNAVAILABLE;
	gs->err = err;
	snprintf(gs->reason, sizeof(gs->reason), fmt, arg);
	snprintf(info->guard_reason, sizeof(info->guard_reason), "%s", gs->reason);
	info->guard_active = false;
	write_state(dir, gs);
}

void fragml_guard_setup(struct fragml_handle *h, struct fragml_open_info *info)
{
	const char *dir = fragml_pin_dir(h);
	char gdir[PATH_MAX], links[PATH_MAX], p[PATH_MAX];
	struct guard_state gs = { 0 };
	struct fragml_guard *g = NULL;
	struct bpf_program *prog;
	int ret, pfd;

	if (fragml_guard_pinned(dir)) {
		fragml_guard_refresh(h);
		info->guard_active = true;
		return;
	}
	if (fragml_path_join(gdir, dir, "guard") || fragml_path_join(links, gdir, "links"))
		return unavailable(dir, info, &gs, -ENAMETOOLONG, "%s: path too long", dir);
	fragml_unpin_tree(gdir);	/* what a failed or removed guard left */
	if (mkdir(gdir, 0700) || mkdir(links, 0700))
		return unavailable(dir, info, &gs, -errno, "cannot create %s", gdir);
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = gdir);
	g = fragml_guard__open_opts(&oo);
	if (!g) {
		ret = -errno;
		fragml_unpin_tree(gdir);
		return unavailable(dir, info, &gs, ret, "guard object: open failed: %s", strerror(-ret));
	}
	ret = fragml_guard__load(g);
	if (ret) {
		fragml_guard__destroy(g);
		fragml_unpin_tree(gdir);
		return unavailable(dir, info, &gs, ret,
				   "the kernel refuses BPF-LSM programs (%s): it needs CONFIG_BPF_LSM with bpf in its LSM list (lsm=...,bpf)",
				   strerror(-ret));
	}
	ret = add_trusted(bpf_map__fd(g->maps.guard_trusted), &gs);
	if (ret) {
		fragml_guard__destroy(g);
		fragml_unpin_tree(gdir);
		return unavailable(dir, info, &gs, ret, "cannot identify this program: %s", strerror(-ret));
	}
	pfd = bpf_map__fd(g->maps.guard_dirs);
	ret = add_dir(pfd, dir, false) ?: add_dir(pfd, dir, true) ?: add_dir(pfd, gdir, false) ?:
	      add_dir(pfd, links, false);
	if (fragml_path_join(p, dir, "links") == 0 && mkdir(p, 0700) == 0)
		ret = ret ?: add_dir(pfd, p, false);
	else if (errno == EEXIST)
		ret = ret ?: add_dir(pfd, p, false);
	add_shield(bpf_map__fd(g->maps.guard_shield));
	bpf_object__for_each_program(prog, g->obj) {
		struct bpf_link *l;

		if (ret)
			break;
		l = bpf_program__attach(prog);
		if (!l) {
			ret = -errno;
			break;
		}
		if (fragml_path_join(p, links, bpf_program__name(prog)) == 0)
			ret = bpf_link__pin(l, p);
		bpf_link__destroy(l);	/* the pin keeps it attached */
	}
	if (ret) {
		fragml_guard__destroy(g);
		fragml_unpin_tree(gdir);
		return unavailable(dir, info, &gs, ret, "attaching the LSM programs failed: %s",
				   strerror(-ret));
	}
	ret = self_check(g);
	if (ret) {
		fragml_guard__destroy(g);
		fragml_unpin_tree(gdir);
		return unavailable(dir, info, &gs, ret,
				   "this program is not one of fragml's tools (fragml-load, fragml, fragml-collect) as the kernel sees it: %s",
				   strerror(-ret));
	}
	gs.state = FRAGML_GUARD_ACTIVE;
	write_state(dir, &gs);		/* before refresh: the state map is protected too */
	refresh(h, bpf_map__fd(g->maps.guard_protect));
	ret = set_enabled(g, true);
	fragml_guard__destroy(g);
	if (ret) {
		fragml_unpin_tree(gdir);
		return unavailable(dir, info, &gs, ret, "cannot enable it: %s", strerror(-ret));
	}
	info->guard_active = true;
	info->guard_new = true;
	info->guard_reason[0] = '\0';
}

int fragml_guard_remove(const struct fragml_open_opts *opts, struct fragml_err *err)
{
	struct fragml_guard_cfg c = { .enabled = 0 };
	char dir[PATH_MAX], gdir[PATH_MAX];
	struct guard_state gs;
	__u32 zero = 0;
	int fd, ret;

	if (fragml_pin_dir_of(opts ? opts->bpffs : NULL, dir, sizeof(dir)) ||
	    fragml_path_join(gdir, dir, "guard"))
		return fragml_err_set(err, -ENAMETOOLONG, "path too long");
	fd = open_guard_map(dir, "guard_cfg", false);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return fragml_err_set(err, -errno,
				      "%s/guard_cfg: %s%s", gdir, strerror(errno),
				      errno == EPERM ? ": the guard lets only fragml's own tools remove it (docs/guard.md)" : "");
	}
	ret = bpf_map_update_elem(fd, &zero, &c, BPF_ANY) ? -errno : 0;
	close(fd);
	if (ret)
		return fragml_err_set(err, ret, "%s/guard_cfg: cannot switch the guard off: %s", gdir,
				      strerror(-ret));
	/* off now; its links go when the kernel frees the unpinned inodes */
	ret = fragml_unpin_tree(gdir);
	if (ret)
		return fragml_err_set(err, ret, "%s: cannot remove pins: %s", gdir, strerror(-ret));
	read_state(dir, &gs);
	gs.state = FRAGML_GUARD_REMOVED;
	gs.err = 0;
	snprintf(gs.reason, sizeof(gs.reason), "removed by 'fragml guard off' (pid %d)", (int)getpid());
	write_state(dir, &gs);
	return 0;
}

static int cmp_event(const void *a, const void *b)
{
	const struct fragml_guard_event *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int fragml_guard_status(struct fragml_handle *h, struct fragml_guard_status *st,
			struct fragml_err *err)
{
	const char *dir = fragml_pin_dir(h);
	int ncpu = libbpf_num_possible_cpus();
	struct fragml_guard_obj k, next;
	struct fragml_guard_cfg cfg = { 0 };
	struct guard_state gs;
	__u64 *vals = NULL;
	void *prev = NULL;
	__u32 zero = 0;
	int fd;

	memset(st, 0, sizeof(*st));
	if (read_state(dir, &gs) == 0) {
		st->state = gs.state;
		snprintf(st->reason, sizeof(st->reason), "%s", gs.reason);
		snprintf(st->trusted, sizeof(st->trusted), "%s", gs.trusted);
	}
	fd = open_guard_map(dir, "guard_cfg", true);
	if (fd < 0 || bpf_map_lookup_elem(fd, &zero, &cfg) || !cfg.enabled || !fragml_guard_pinned(dir)) {
		if (fd >= 0)
			close(fd);
		if (st->state == FRAGML_GUARD_ACTIVE) {
			st->state = FRAGML_GUARD_UNAVAILABLE;
			snprintf(st->reason, sizeof(st->reason), "its pins in %s/guard are gone", dir);
		} else if (st->state == FRAGML_GUARD_NONE) {
			snprintf(st->reason, sizeof(st->reason),
				 "not installed: fragml-load installs it with the first model (unless --no-guard)");
		}
		return 0;
	}
	close(fd);
	st->state = FRAGML_GUARD_ACTIVE;
	st->reason[0] = '\0';
	fd = open_guard_map(dir, "guard_protect", true);
	if (fd >= 0) {
		while (bpf_map_get_next_key(fd, prev, &next) == 0) {
			st->protected_objs++;
			k = next;
			prev = &k;
		}
		close(fd);
	}
	fd = open_guard_map(dir, "guard_count", true);
	vals = calloc(ncpu > 0 ? (size_t)ncpu : 1, sizeof(*vals));
	if (fd < 0 || !vals) {
		if (fd >= 0)
			close(fd);
		free(vals);
		return fragml_err_set(err, fd < 0 ? -errno : -ENOMEM, "%s/guard/guard_count: %s", dir,
				      strerror(fd < 0 ? errno : ENOMEM));
	}
	for (__u32 i = 0; i < FRAGML_GUARD_NR_KINDS; i++) {
		if (bpf_map_lookup_elem(fd, &i, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			st->refusals[i] += vals[c];
		st->total += st->refusals[i];
	}
	close(fd);
	free(vals);
	fd = open_guard_map(dir, "guard_log", true);
	if (fd < 0)
		return fragml_err_set(err, -errno, "%s/guard/guard_log: %s", dir, strerror(errno));
	for (__u32 i = 0; i < FRAGML_GUARD_LOG_LEN; i++) {
		struct fragml_guard_rec r;
		struct fragml_guard_event *e = &st->log[st->n_log];

		if (bpf_map_lookup_elem(fd, &i, &r) || !r.seq)
			continue;
		e->seq = r.seq;
		e->boot_ns = r.ts;
		e->tgid = r.tgid;
		e->pid = r.pid;
		e->uid = r.uid;
		e->id = r.id;
		e->cmd = r.cmd;
		e->kind = r.kind;
		memcpy(e->comm, r.comm, sizeof(e->comm));
		e->comm[sizeof(e->comm) - 1] = '\0';
		st->n_log++;
	}
	close(fd);
	qsort(st->log, st->n_log, sizeof(st->log[0]), cmp_event);
	return 0;
}
