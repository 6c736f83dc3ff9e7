// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The canary and the cgroup scope of the enforcing policy: see canary.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "canary.h"
#include "guard.h"

/* A pinned map of the policy object, or a message saying what is missing. */
static int policy_map(struct fragml_handle *h, const char *name, struct fragml_err *err)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", fragml_pin_dir(h), name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return fragml_err_set(err, -errno,
				      "%s: %s: the canary and the cgroup scope need the enforcing policy (a kernel with kernel-patches/, a model loaded with fragml load)",
				      path, strerror(errno));
	return fd;
}

static int zero_matrix(int fd, unsigned int hook)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *zeros = calloc(ncpu > 0 ? ncpu : 1, sizeof(*zeros));
	int ret = 0;

	if (!zeros)
		return -ENOMEM;
	for (__u32 k = FRAGML_CANARY_INDEX(hook, 0, 0);
	     k < FRAGML_CANARY_INDEX(hook + 1, 0, 0) && !ret; k++)
		if (bpf_map_update_elem(fd, &k, zeros, BPF_ANY))
			ret = -errno;
	free(zeros);
	return ret;
}

static void canary_pin(char *out, size_t cap, struct fragml_handle *h, unsigned int hook)
{
	snprintf(out, cap, "%s/%s_canary", fragml_pin_dir(h), fragml_hook_name(hook));
}

int fragml_canary_set(struct fragml_handle *h, const struct fragml_model *m, struct fragml_err *err)
{
	struct fragml_blob *b = malloc(sizeof(*b));
	int outer = -1, cnt = -1, fd = -1, ret;
	__u32 zero = 0, hook = m->hook;
	char pin[PATH_MAX];

	if (!b)
		return fragml_err_set(err, -ENOMEM, "out of memory");
	ret = outer = policy_map(h, "fragml_canary", err);
	if (outer < 0)
		goto out;
	ret = cnt = policy_map(h, "fragml_canary_cnt", err);
	if (cnt < 0)
		goto out;
	ret = fragml_blob_pack(b, m, 0, err);
	if (ret)
		goto out;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "frgm_canary", sizeof(__u32), sizeof(*b), 1, NULL);
	if (fd < 0) {
		ret = fragml_err_set(err, -errno, "canary map: creation failed (%s)", strerror(errno));
		goto out;
	}
	fragml_guard_protect_fd(h, fd);
	if (bpf_map_update_elem(fd, &zero, b, BPF_ANY) || bpf_map_freeze(fd)) {
		ret = fragml_err_set(err, -errno, "canary map: fill/freeze failed: %s", strerror(errno));
		goto out;
	}
	/* counters first: every count after the switch is the new candidate's */
	ret = zero_matrix(cnt, hook);
	if (ret) {
		fragml_err_set(err, ret, "fragml_canary_cnt: reset failed: %s", strerror(-ret));
		goto out;
	}
	canary_pin(pin, sizeof(pin), h, hook);
	unlink(pin);
	if (bpf_obj_pin(fd, pin)) {
		ret = fragml_err_set(err, -errno, "%s: pin failed: %s", pin, strerror(errno));
		goto out;
	}
	if (bpf_map_update_elem(outer, &hook, &fd, BPF_ANY)) {
		ret = fragml_err_set(err, -errno, "fragml_canary: slot %s update failed: %s",
				     fragml_hook_name(hook), strerror(errno));
		unlink(pin);
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (outer >= 0)
		close(outer);
	if (cnt >= 0)
		close(cnt);
	free(b);
	return ret;
}

int fragml_canary_clear(struct fragml_handle *h, unsigned int hook, struct fragml_err *err)
{
	int outer = policy_map(h, "fragml_canary", err);
	char pin[PATH_MAX];
	__u32 key = hook;
	int ret = 0;

	if (outer < 0)
		return outer;
	if (bpf_map_delete_elem(outer, &key) && errno != ENOENT)
		ret = fragml_err_set(err, -errno, "fragml_canary: slot %s: %s", fragml_hook_name(hook),
				     strerror(errno));
	canary_pin(pin, sizeof(pin), h, hook);
	if (!ret)
		unlink(pin);
	close(outer);
	return ret;
}

static int canary_blob(struct fragml_handle *h, unsigned int hook, struct fragml_blob *b,
		       struct fragml_err *err)
{
	int outer = policy_map(h, "fragml_canary", err), fd;
	__u32 key = hook, id = 0, zero = 0;
	int ret = 0;

	if (outer < 0)
		return outer;
	if (bpf_map_lookup_elem(outer, &key, &id) || !id) {
		close(outer);
		return fragml_err_set(err, -ENOENT, "no %s candidate: fragml load --canary MODEL.bin first",
				      fragml_hook_name(hook));
	}
	close(outer);
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return fragml_err_set(err, -errno, "canary map id %u: %s", id, strerror(errno));
	if (bpf_map_lookup_elem(fd, &zero, b))
		ret = fragml_err_set(err, -errno, "canary map id %u: read failed: %s", id, strerror(errno));
	close(fd);
	return ret;
}

int fragml_canary_promote(struct fragml_handle *h, unsigned int hook, uint32_t *version,
			  char sha256[FRAGML_SHA256_HEX], struct fragml_err *err)
{
	struct fragml_blob *b = malloc(sizeof(*b));
	struct fragml_model *m = malloc(sizeof(*m));
	int ret;

	if (!b || !m) {
		ret = fragml_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	ret = canary_blob(h, hook, b, err);
	if (!ret)
		ret = fragml_blob_to_model(b, m, err);
	if (!ret)
		ret = fragml_model_validate(m, "candidate", err);
	if (!ret)
		ret = fragml_model_sha256(m, sha256, err);
	/* the same model file: the unpacked tree may number its nodes otherwise */
	if (!ret && strcmp(sha256, b->sha256))
		snprintf(sha256, FRAGML_SHA256_HEX, "%s", b->sha256);
	if (!ret)
		ret = fragml_publish(h, m, version, err);
	if (!ret)
		ret = fragml_canary_clear(h, hook, err);
out:
	free(b);
	free(m);
	return ret;
}

int fragml_canary_status(struct fragml_handle *h, unsigned int hook, struct fragml_canary_status *st,
			 struct fragml_err *err)
{
	int ncpu = libbpf_num_possible_cpus(), cnt;
	struct fragml_blob *b;
	__u64 *vals;
	int ret;

	memset(st, 0, sizeof(*st));
	cnt = policy_map(h, "fragml_canary_cnt", NULL);
	if (cnt < 0)
		return 0;	/* no policy: not available */
	st->available = true;
	b = malloc(sizeof(*b));
	vals = calloc(ncpu > 0 ? ncpu : 1, sizeof(*vals));
	if (!b || !vals) {
		ret = fragml_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	ret = canary_blob(h, hook, b, NULL);
	if (ret == 0) {
		st->loaded = true;
		snprintf(st->sha256, sizeof(st->sha256), "%s", b->sha256);
	}
	ret = 0;
	for (unsigned int l = 0; l < FRAGML_MAX_ACTIONS; l++)
		for (unsigned int c = 0; c < FRAGML_MAX_ACTIONS; c++) {
			__u32 k = FRAGML_CANARY_INDEX(hook, l, c);

			if (bpf_map_lookup_elem(cnt, &k, vals)) {
				ret = fragml_err_set(err, -errno, "fragml_canary_cnt: read failed: %s",
						     strerror(errno));
				goto out;
			}
			for (int i = 0; i < ncpu; i++)
				st->matrix[l][c] += vals[i];
			if (l == c)
				st->agree += st->matrix[l][c];
			else
				st->disagree += st->matrix[l][c];
		}
out:
	close(cnt);
	free(b);
	free(vals);
	return ret;
}

int fragml_cgroup_id(const char *path, uint64_t *id, struct fragml_err *err)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = { .fh.handle_bytes = sizeof(uint64_t) };
	struct stat st;
	int mnt;

	if (stat(path, &st) || !S_ISDIR(st.st_mode))
		return fragml_err_set(err, errno ? -errno : -ENOTDIR, "%s: not a cgroup directory: %s", path,
				      strerror(errno ? errno : ENOTDIR));
	{
		char probe[PATH_MAX];

		snprintf(probe, sizeof(probe), "%s/cgroup.procs", path);
		if (access(probe, F_OK))
			return fragml_err_set(err, -EINVAL, "%s: not a cgroup v2 directory (no cgroup.procs)", path);
	}
	/* the kernfs id the kernel reports as the cgroup id */
	if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mnt, 0) == 0 && h.fh.handle_bytes == 8) {
		memcpy(id, h.fh.f_handle, sizeof(*id));
		return 0;
	}
	*id = st.st_ino;
	return 0;
}

int fragml_scope_set(struct fragml_handle *h, const char *const *paths, int n, struct fragml_err *err)
{
	uint64_t ids[FRAGML_SCOPE_MAX];
	int ret;

	if (n < 0 || n > FRAGML_SCOPE_MAX)
		return fragml_err_set(err, -E2BIG, "scope: %d cgroups, at most %d", n, FRAGML_SCOPE_MAX);
	for (int i = 0; i < n; i++) {
		ret = fragml_cgroup_id(paths[i], &ids[i], err);
		if (ret)
			return ret;
	}
	return fragml_scope_set_ids(h, ids, n, err);
}

int fragml_scope_set_ids(struct fragml_handle *h, const uint64_t *ids, int n, struct fragml_err *err)
{
	uint64_t old[FRAGML_SCOPE_MAX];
	int fd = -1, nfd = -1, nold, ret;
	__u32 zero = 0, one = 1, count = (__u32)n;

	if (n < 0 || n > FRAGML_SCOPE_MAX)
		return fragml_err_set(err, -E2BIG, "scope: %d cgroups, at most %d", n, FRAGML_SCOPE_MAX);
	nold = fragml_scope_get(h, old, err);
	if (nold < 0)
		return nold;
	ret = fd = policy_map(h, "fragml_scope", err);
	if (fd < 0)
		goto out;
	ret = nfd = policy_map(h, "fragml_scope_n", err);
	if (nfd < 0)
		goto out;
	/* the new ids first, then the count, then the old ids go: while it
	 * changes, the union of both scopes is in scope, never every task */
	for (int i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, &ids[i], &one, BPF_ANY)) {
			ret = fragml_err_set(err, -errno, "fragml_scope: add cgroup id %llu: %s",
					     (unsigned long long)ids[i], strerror(errno));
			goto out;
		}
	if (bpf_map_update_elem(nfd, &zero, &count, BPF_ANY)) {
		ret = fragml_err_set(err, -errno, "fragml_scope_n: %s", strerror(errno));
		goto out;
	}
	for (int i = 0; i < nold; i++) {
		bool keep = false;

		for (int j = 0; j < n; j++)
			keep |= ids[j] == old[i];
		if (!keep)
			bpf_map_delete_elem(fd, &old[i]);
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (nfd >= 0)
		close(nfd);
	return ret;
}

int fragml_scope_get(struct fragml_handle *h, uint64_t ids[FRAGML_SCOPE_MAX], struct fragml_err *err)
{
	int fd = policy_map(h, "fragml_scope", err), nfd, n = 0;
	__u32 zero = 0, count = 0;
	uint64_t key, next;

	if (fd < 0)
		return fd;
	nfd = policy_map(h, "fragml_scope_n", err);
	if (nfd < 0) {
		close(fd);
		return nfd;
	}
	bpf_map_lookup_elem(nfd, &zero, &count);
	close(nfd);
	if (count) {
		if (bpf_map_get_next_key(fd, NULL, &next) == 0) {
			do {
				key = next;
				if (n < FRAGML_SCOPE_MAX)
					ids[n++] = key;
			} while (bpf_map_get_next_key(fd, &key, &next) == 0);
		}
	}
	close(fd);
	return n;
}
