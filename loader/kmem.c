// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Kernel memory held by fragml, read from the kernel: the `memlock` the
 * kernel reports for each map and program (fdinfo, map_mem_usage()), and the
 * sizing of the tracking maps from the machine's RAM.  See fragml_load.h.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fragml_load.h"

static uint64_t pow2_at_least(uint64_t x)
{
	uint64_t p = 1;

	while (p < x)
		p <<= 1;
	return p;
}

static uint64_t clamp64(uint64_t x, uint64_t lo, uint64_t hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

uint64_t fragml_ram_pages(void)
{
	long n = sysconf(_SC_PHYS_PAGES), sz = sysconf(_SC_PAGESIZE);

	if (n <= 0 || sz <= 0)
		return 1ULL << 18;	/* 1 GB of 4 KB pages */
	return (uint64_t)n * (uint64_t)sz / 4096;
}

void fragml_track_sizes(uint64_t ram_pages, int64_t track_pages, struct fragml_track_sizes *ts)
{
	uint64_t blocks = ram_pages / 512 ? ram_pages / 512 : 1;	/* 2 MB pageblocks */

	memset(ts, 0, sizeof(*ts));
	if (track_pages > 0)
		ts->live = (uint32_t)clamp64((uint64_t)track_pages, 64, 1u << 26);
	else if (track_pages == 0)
		ts->live = (uint32_t)clamp64(ram_pages / FRAGML_TRACK_RAM_DIV, 1024, 1u << 26);
	ts->filter_slots = (uint32_t)clamp64(pow2_at_least(blocks), 64, 1u << 22);
	ts->blocks = (uint32_t)clamp64(blocks, 64, 1u << 22);
	ts->tasks = (uint32_t)clamp64(pow2_at_least(blocks / 4), 1024, 8192);
	ts->sources = (uint32_t)clamp64(pow2_at_least(blocks), 1024, 65536);
	ts->slab_sources = ts->sources / 2;
	ts->regions = (uint32_t)clamp64(pow2_at_least(blocks * 2), 4096, 262144);
	ts->ringbuf = (uint32_t)clamp64(pow2_at_least(ram_pages * 4096 / 256), 1u << 20, 16u << 20);
}

/* "key:\tvalue" lines of /proc/self/fdinfo/<fd> */
int fragml_fdinfo_u64(int fd, const char *key, uint64_t *val)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	int found = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			*val = strtoull(line + klen + 1, NULL, 0);
			found = 0;
			break;
		}
	fclose(f);
	return found;
}

int fragml_kmem_fd_bytes(int fd, uint64_t *bytes)
{
	return fragml_fdinfo_u64(fd, "memlock", bytes);
}

static bool seen(const struct fragml_kmem *km, bool prog, uint32_t id)
{
	for (unsigned int i = 0; i < km->n; i++)
		if (km->obj[i].is_prog == prog && km->obj[i].id == id)
			return true;
	return false;
}

static struct fragml_kmem_obj *grow(struct fragml_kmem *km)
{
	if (km->n % 32 == 0) {
		struct fragml_kmem_obj *o = realloc(km->obj, (km->n + 32) * sizeof(*o));

		if (!o)
			return NULL;
		km->obj = o;
	}
	memset(&km->obj[km->n], 0, sizeof(km->obj[0]));
	return &km->obj[km->n++];
}

static int add_prog(struct fragml_kmem *km, int fd, struct fragml_err *err);

static int add_map(struct fragml_kmem *km, int fd, struct fragml_err *err)
{
	struct bpf_map_info mi;
	__u32 len = sizeof(mi);
	struct fragml_kmem_obj *o;
	const char *type;

	memset(&mi, 0, sizeof(mi));
	if (bpf_map_get_info_by_fd(fd, &mi, &len))
		return fragml_err_set(err, -errno, "map fd %d: cannot read map info: %s", fd, strerror(errno));
	if (seen(km, false, mi.id))
		return 0;
	o = grow(km);
	if (!o)
		return fragml_err_set(err, -ENOMEM, "out of memory");
	o->id = mi.id;
	snprintf(o->name, sizeof(o->name), "%s", mi.name);
	type = libbpf_bpf_map_type_str(mi.type);
	snprintf(o->type, sizeof(o->type), "%s", type ? type : "?");
	o->max_entries = mi.max_entries;
	o->key_size = mi.key_size;
	o->value_size = mi.value_size;
	o->flags = mi.map_flags;
	if (fragml_kmem_fd_bytes(fd, &o->bytes))
		return fragml_err_set(err, -ENOTSUP, "map %s: the kernel reports no memlock in fdinfo", mi.name);
	km->map_bytes += o->bytes;
	km->n_maps++;
	/* a program array (the compiled model versions): the programs in its slots */
	if (mi.type == BPF_MAP_TYPE_PROG_ARRAY) {
		for (__u32 k = 0; k < mi.max_entries && k < 64; k++) {
			__u32 pid = 0;
			int pfd, ret;

			if (bpf_map_lookup_elem(fd, &k, &pid) || !pid)
				continue;
			pfd = bpf_prog_get_fd_by_id(pid);
			if (pfd < 0)
				continue;	/* swapped out meanwhile */
			ret = add_prog(km, pfd, err);
			close(pfd);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static int add_prog(struct fragml_kmem *km, int fd, struct fragml_err *err)
{
	struct bpf_prog_info pi;
	__u32 len = sizeof(pi), ids[64];
	struct fragml_kmem_obj *o;
	const char *type;
	int ret;

	memset(&pi, 0, sizeof(pi));
	pi.nr_map_ids = 64;
	pi.map_ids = (__u64)(unsigned long)ids;
	if (bpf_prog_get_info_by_fd(fd, &pi, &len))
		return fragml_err_set(err, -errno, "program fd %d: cannot read program info: %s", fd,
				      strerror(errno));
	if (seen(km, true, pi.id))
		return 0;
	o = grow(km);
	if (!o)
		return fragml_err_set(err, -ENOMEM, "out of memory");
	o->is_prog = true;
	o->id = pi.id;
	snprintf(o->name, sizeof(o->name), "%s", pi.name);
	type = libbpf_bpf_prog_type_str(pi.type);
	snprintf(o->type, sizeof(o->type), "%s", type ? type : "?");
	o->value_size = pi.jited_prog_len;
	if (fragml_kmem_fd_bytes(fd, &o->bytes))
		o->bytes = 0;
	km->prog_bytes += o->bytes;
	km->n_progs++;
	for (__u32 i = 0; i < pi.nr_map_ids && i < 64; i++) {
		int mfd = bpf_map_get_fd_by_id(ids[i]);

		if (mfd < 0)
			continue;	/* freed meanwhile */
		ret = add_map(km, mfd, err);
		close(mfd);
		if (ret)
			return ret;
	}
	return 0;
}

int fragml_kmem_add_fd(struct fragml_kmem *km, int fd, struct fragml_err *err)
{
	uint64_t id;
	int ofd, ret;

	if (!fragml_fdinfo_u64(fd, "map_type", &id))
		return add_map(km, fd, err);
	if (!fragml_fdinfo_u64(fd, "prog_type", &id))
		return add_prog(km, fd, err);
	if (fragml_fdinfo_u64(fd, "link_type", &id))
		return fragml_err_set(err, -EINVAL, "fd %d: not a BPF map, program or link", fd);
	/* a link: its program, or the map of a struct_ops link */
	if (!fragml_fdinfo_u64(fd, "prog_id", &id) && id) {
		ofd = bpf_prog_get_fd_by_id((__u32)id);
		if (ofd < 0)
			return 0;	/* detached meanwhile */
		ret = add_prog(km, ofd, err);
		close(ofd);
		return ret;
	}
	if (!fragml_fdinfo_u64(fd, "map_id", &id) && id) {
		ofd = bpf_map_get_fd_by_id((__u32)id);
		if (ofd < 0)
			return 0;
		ret = add_map(km, ofd, err);
		close(ofd);
		return ret;
	}
	return 0;
}

static int add_tree(struct fragml_kmem *km, const char *dir, struct fragml_err *err)
{
	DIR *d = opendir(dir);
	char p[PATH_MAX];
	struct dirent *e;
	int ret = 0;

	if (!d)
		return errno == ENOENT ? 0 : fragml_err_set(err, -errno, "%s: %s", dir, strerror(errno));
	while (!ret && (e = readdir(d))) {
		int fd;

		if (e->d_name[0] == '.' || snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) >= PATH_MAX)
			continue;
		if (e->d_type == DT_DIR) {
			ret = add_tree(km, p, err);
			continue;
		}
		fd = bpf_obj_get(p);
		if (fd < 0)
			continue;	/* unpinned meanwhile */
		ret = fragml_kmem_add_fd(km, fd, err);
		close(fd);
	}
	closedir(d);
	return ret;
}

int fragml_kmem_read(struct fragml_handle *h, struct fragml_kmem *km, struct fragml_err *err)
{
	memset(km, 0, sizeof(*km));
	return add_tree(km, fragml_pin_dir(h), err);
}

void fragml_kmem_free(struct fragml_kmem *km)
{
	free(km->obj);
	memset(km, 0, sizeof(*km));
}
