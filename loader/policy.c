// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libfragml, enforce stage: attach / swap / detach the struct_ops policy.
 * See fragml_policy.h.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "fragml_gate_events.h"
#include "fragml_policy.h"
#include "libbpf_log.h"
#include "fragml_policy.skel.h"

int fragml_policy_supported(struct fragml_err *err)
{
	struct btf *btf = btf__load_vmlinux_btf();
	int id;

	if (!btf)
		return fragml_err_set(err, -errno,
				      "kernel BTF not readable (%s): enforce mode needs a kernel with CONFIG_DEBUG_INFO_BTF",
				      strerror(errno));
	id = btf__find_by_name_kind(btf, FRAGML_POLICY_KTYPE, BTF_KIND_STRUCT);
	btf__free(btf);
	return id > 0 ? 1 : 0;
}

static struct bpf_map *variant_map(struct fragml_policy *skel, const char *variant)
{
	struct bpf_map *map = bpf_object__find_map_by_name(skel->obj, variant);

	if (!map || bpf_map__type(map) != BPF_MAP_TYPE_STRUCT_OPS)
		return NULL;
	return map;
}

/* The observe programs' state map `name` (pinned by them) for the policy's
 * `map`, or a 1-entry stand-in when observe mode is not loaded: the features
 * read from it are then missing. */
static void share_state(struct bpf_map *map, const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", FRAGML_PIN_DIR, name);
	fd = bpf_obj_get(path);
	if (fd >= 0 && !bpf_map__reuse_fd(map, fd)) {
		close(fd);
		return;
	}
	if (fd >= 0)
		close(fd);
	bpf_map__set_max_entries(map, 1);
}

/* max_entries of the pinned map `name`, 0 when it is not pinned. */
static __u32 pinned_max_entries(const char *name)
{
	struct bpf_map_info mi = {};
	__u32 len = sizeof(mi);
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", FRAGML_PIN_DIR, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_map_get_info_by_fd(fd, &mi, &len))
		mi.max_entries = 0;
	close(fd);
	return mi.max_entries;
}

/*
 * The gate's decision log and open-decision map: the pinned ones as they are
 * (full < 0; a pin is reused only at its own size), or new ones at the full
 * or idle size, their old pins removed so that libbpf creates and pins them
 * (the running policy keeps the old ones until the link update).
 */
static void gate_log_sizes(struct fragml_policy *skel, int full)
{
	__u32 log = pinned_max_entries("fragml_gate_log");
	__u32 pend = pinned_max_entries("fragml_gate_pending");
	__u32 want_log = full > 0 ? FRAGML_GATE_LOG_BYTES : FRAGML_GATE_LOG_IDLE_BYTES;
	__u32 want_pend = full > 0 ? FRAGML_GATE_PENDING_MAX : FRAGML_GATE_PENDING_IDLE;

	if (!log || !pend || (full >= 0 && (log != want_log || pend != want_pend))) {
		unlink(FRAGML_PIN_DIR "/fragml_gate_log");
		unlink(FRAGML_PIN_DIR "/fragml_gate_pending");
		log = want_log;
		pend = want_pend;
	}
	bpf_map__set_max_entries(skel->maps.fragml_gate_log, log);
	bpf_map__set_max_entries(skel->maps.fragml_gate_pending, pend);
}

/* Open the policy object with only `variant` created; the shared maps by pin;
 * the gate's log as gate_log_sizes(full) leaves it. */
static int open_variant(const char *variant, int full, struct fragml_policy **skelp,
			struct bpf_map **mapp, struct fragml_err *err)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = FRAGML_PIN_DIR);
	struct fragml_policy *skel;
	struct bpf_map *map;
	int ret;

	if (!variant || !*variant)
		variant = FRAGML_POLICY_MODELS;
	if (fragml_policy_supported(err) != 1)
		return err && err->code ? err->code :
			fragml_err_set(err, -EOPNOTSUPP,
				       "this kernel has no %s (it lacks kernel-patches/, CONFIG_MM_POLICY_BPF): use observe mode or boot the patched kernel ('make kernel')",
				       FRAGML_POLICY_KTYPE);
	if (mkdir(FRAGML_PIN_DIR, 0700) && errno != EEXIST)
		return fragml_err_set(err, -errno, "%s: cannot create: %s (is bpffs mounted on %s?)",
				      FRAGML_PIN_DIR, strerror(errno), FRAGML_DEFAULT_BPFFS);
	skel = fragml_policy__open_opts(&oo);
	if (!skel)
		return fragml_err_set(err, -errno, "policy object: open failed: %s", strerror(errno));
	if (!variant_map(skel, variant)) {
		fragml_policy__destroy(skel);
		return fragml_err_set(err, -EINVAL,
				      "policy variant '%s' unknown: use %s, %s, %s, %s, %s or %s", variant,
				      FRAGML_POLICY_MODELS, FRAGML_POLICY_GATE, FRAGML_POLICY_PLACE,
				      FRAGML_POLICY_ALL, FRAGML_POLICY_KDEFAULT, FRAGML_POLICY_COMPACT);
	}
	bpf_object__for_each_map(map, skel->obj)
		if (bpf_map__type(map) == BPF_MAP_TYPE_STRUCT_OPS)
			bpf_map__set_autocreate(map, !strcmp(bpf_map__name(map), variant));
	share_state(skel->maps.fragml_task_state, "fragml_task_state");
	share_state(skel->maps.fragml_glob, "fragml_glob");
	gate_log_sizes(skel, full);
	loader_libbpf_reset();
	ret = fragml_policy__load(skel);
	if (ret) {
		fragml_policy__destroy(skel);
		return fragml_err_set(err, ret,
				      "policy '%s': the kernel refused to load it (%s%s%s): the pinned maps in %s may be from another build ('fragml detach')",
				      variant, strerror(-ret), loader_libbpf_last()[0] ? ": " : "", loader_libbpf_last(), FRAGML_PIN_DIR);
	}
	*skelp = skel;
	*mapp = variant_map(skel, variant);
	return 0;
}

int fragml_policy_attach_variant(const char *variant, struct fragml_err *err)
{
	libbpf_print_fn_t old = libbpf_set_print(loader_libbpf_print);
	struct fragml_policy *skel = NULL;
	struct bpf_link *link;
	struct bpf_map *map;
	int ret;

	if (access(FRAGML_POLICY_PIN, F_OK) == 0) {
		ret = 0;	/* attached already: attach is idempotent */
		goto out;
	}
	ret = open_variant(variant, -1, &skel, &map, err);
	if (ret)
		goto out;
	link = bpf_map__attach_struct_ops(map);
	if (!link) {
		ret = -errno;
		fragml_err_set(err, ret, "policy '%s': attach failed: %s%s",
			       bpf_map__name(map), strerror(-ret),
			       ret == -EEXIST ? " (another mm_policy_ops policy is attached; detach it first)" : "");
		goto out;
	}
	ret = bpf_link__pin(link, FRAGML_POLICY_PIN);
	if (ret)
		fragml_err_set(err, ret, "%s: pinning the policy link failed: %s",
			       FRAGML_POLICY_PIN, strerror(-ret));
	/* Attached only while pinned: on a failed pin this detaches it again. */
	bpf_link__destroy(link);
out:
	fragml_policy__destroy(skel);
	libbpf_set_print(old);
	return ret;
}

int fragml_policy_attach(struct fragml_err *err)
{
	return fragml_policy_attach_variant(FRAGML_POLICY_MODELS, err);
}

int fragml_policy_detach(struct fragml_err *err)
{
	int fd, ret = 0;

	fd = bpf_obj_get(FRAGML_POLICY_PIN);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return fragml_err_set(err, -errno, "%s: cannot open: %s", FRAGML_POLICY_PIN,
				      strerror(errno));
	}
	/* Detach now rather than when bpffs frees the inode (after RCU). */
	if (bpf_link_detach(fd) && errno != EOPNOTSUPP && errno != EINVAL)
		ret = fragml_err_set(err, -errno, "%s: detach failed: %s", FRAGML_POLICY_PIN,
				     strerror(errno));
	close(fd);
	if (!ret && unlink(FRAGML_POLICY_PIN) && errno != ENOENT)
		ret = fragml_err_set(err, -errno, "%s: cannot remove: %s", FRAGML_POLICY_PIN,
				     strerror(errno));
	return ret;
}

/*
 * libbpf writes a struct_ops map's value (the program fds, in the kernel's
 * layout) only when it attaches the map or updates a link it created itself,
 * and bpf_link__update_map() on a link reopened from a pin would read past it
 * (it expects libbpf's own struct_ops link).  So: let attach write the value
 * (the kernel then refuses the second registration with EEXIST) and update
 * the pinned link with the raw BPF_LINK_UPDATE.
 */
static int prepare_struct_ops_value(struct bpf_map *map)
{
	struct bpf_link *l = bpf_map__attach_struct_ops(map);

	if (l) {	/* nothing was registered: the pinned link is detached */
		bpf_link__destroy(l);
		return -ENOENT;
	}
	return errno == EEXIST ? 0 : -errno;
}

static int policy_update(const char *variant, int full, struct fragml_err *err)
{
	libbpf_print_fn_t old = libbpf_set_print(loader_libbpf_print);
	struct fragml_policy *skel = NULL;
	struct bpf_map *map;
	int link_fd, ret;

	link_fd = bpf_obj_get(FRAGML_POLICY_PIN);
	if (link_fd < 0) {
		ret = fragml_err_set(err, -errno, "%s: no policy attached (%s): attach one first",
				     FRAGML_POLICY_PIN, strerror(errno));
		goto out;
	}
	ret = open_variant(variant, full, &skel, &map, err);
	if (ret)
		goto out;
	ret = prepare_struct_ops_value(map);
	if (ret) {
		fragml_err_set(err, ret, "policy '%s': cannot prepare it for the link update: %s",
			       bpf_map__name(map), ret == -ENOENT ?
			       "the pinned link has no policy attached ('fragml detach', then attach)" :
			       strerror(-ret));
		goto out;
	}
	/* The kernel checks the type and swaps the ops in one store. */
	if (bpf_link_update(link_fd, bpf_map__fd(map), NULL))
		ret = fragml_err_set(err, -errno,
				     "policy link update to '%s' failed: %s: the attached policy is unchanged",
				     bpf_map__name(map), strerror(errno));
out:
	if (link_fd >= 0)
		close(link_fd);
	/* The link holds the new map now; our handles can go. */
	fragml_policy__destroy(skel);
	libbpf_set_print(old);
	return ret;
}

int fragml_policy_update(const char *variant, struct fragml_err *err)
{
	return policy_update(variant, -1, err);
}

int fragml_policy_gate_log(bool full, struct fragml_err *err)
{
	char cur[32];

	if (fragml_policy_current(cur, sizeof(cur), NULL))
		return -ENOENT;
	if (pinned_max_entries("fragml_gate_log") ==
	    (full ? FRAGML_GATE_LOG_BYTES : FRAGML_GATE_LOG_IDLE_BYTES) &&
	    pinned_max_entries("fragml_gate_pending") ==
	    (full ? FRAGML_GATE_PENDING_MAX : FRAGML_GATE_PENDING_IDLE))
		return 0;
	return policy_update(cur, full, err);
}

int fragml_policy_current(char *buf, size_t len, struct fragml_err *err)
{
	struct bpf_link_info li = {};
	struct bpf_map_info mi = {};
	__u32 ll = sizeof(li), ml = sizeof(mi), map_id;
	int fd, mfd, ret = 0;

	fd = bpf_obj_get(FRAGML_POLICY_PIN);
	if (fd < 0)
		return fragml_err_set(err, errno == ENOENT ? -ENOENT : -errno,
				      "%s: no policy attached", FRAGML_POLICY_PIN);
	if (bpf_link_get_info_by_fd(fd, &li, &ll)) {
		ret = fragml_err_set(err, -errno, "%s: link info: %s", FRAGML_POLICY_PIN, strerror(errno));
		goto out;
	}
	/*
	 * struct_ops.map_id is the first word of the info union; Debian's uapi
	 * headers predate it (Linux 6.4), so read it by its offset.
	 */
	_Static_assert(offsetof(struct bpf_link_info, raw_tracepoint) == 16,
		       "bpf_link_info layout");
	memcpy(&map_id, (const char *)&li + 16, sizeof(map_id));
	/* read-only: enough for the name, and allowed by the guard to anyone */
	LIBBPF_OPTS(bpf_get_fd_by_id_opts, ro, .open_flags = BPF_F_RDONLY);
	mfd = bpf_map_get_fd_by_id_opts(map_id, &ro);
	if (mfd < 0) {
		ret = fragml_err_set(err, -ENOENT, "%s: the link has no policy (detached)",
				     FRAGML_POLICY_PIN);
		goto out;
	}
	if (bpf_map_get_info_by_fd(mfd, &mi, &ml))
		ret = fragml_err_set(err, -errno, "policy map info: %s", strerror(errno));
	else
		snprintf(buf, len, "%s", mi.name);
	close(mfd);
out:
	close(fd);
	return ret;
}
