// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Loading stage of libfragml: install the BPF programs, publish models into
 * fresh inner maps, roll back, report, and evaluate in the kernel.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "compile.h"
#include "fragml_identify.h"
#include "guard.h"
#include "canary.h"
#include "fragml_load.h"
#include "fragml_policy.h"
#include "libbpf_log.h"
#include "fragml_core.skel.h"
#include "fragml_observe.skel.h"
#include "fragml_collect_events.h"
#include "mono_ns.h"


struct fragml_handle {
	char bpffs[PATH_MAX];
	char dir[PATH_MAX];
	struct fragml_core *core;
	int lock_fd;
	int models_fd, counters_fd, info_fd, shadow_fd;
	bool no_compiled;		/* opts.no_compiled */
	bool test_run;			/* opts.test_run: the test-run programs are loaded */
	unsigned int evaluator;		/* FRAGML_EVAL_* for fragml_kernel_eval/bench */
	struct fragml_compiled_info cinfo;	/* the last compile */
	uint32_t last_compiled;		/* decisions of the last batch the compiled form made */
	struct btf *vmlinux_btf;	/* for the policy's callbacks (policy_member()), lazily */
};

const char *fragml_pin_dir(const struct fragml_handle *h)
{
	return h->dir;
}

static uint32_t slot_version(struct fragml_handle *h, unsigned int hook);
static void policy_compiled_sync(struct fragml_handle *h);

/*
 * The policy variant the published models need: the allocator asks a
 * fallback gate or a placement callback only while the attached policy has
 * one (a gate makes every allocation first avoid falling back), so the
 * variant follows the first model published for either hook.
 */
static const char *models_variant(struct fragml_handle *h)
{
	bool gate = slot_version(h, FRAGML_HOOK_FALLBACK) != 0;
	bool place = slot_version(h, FRAGML_HOOK_PLACEMENT) != 0;

	return gate && place ? FRAGML_POLICY_ALL : gate ? FRAGML_POLICY_GATE :
	       place ? FRAGML_POLICY_PLACE : FRAGML_POLICY_MODELS;
}

int fragml_path_join(char *out, const char *a, const char *b)
{
	return snprintf(out, PATH_MAX, "%s/%s", a, b) >= PATH_MAX ? -ENAMETOOLONG : 0;
}

int fragml_pin_dir_of(const char *bpffs, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/" FRAGML_PIN_SUBDIR, bpffs ? bpffs : FRAGML_DEFAULT_BPFFS);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int ensure_bpffs(const char *bpffs, bool *mounted, struct fragml_err *err)
{
	struct statfs st;

	if (statfs(bpffs, &st) == 0 && (unsigned long)st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mkdir(bpffs, 0700) && errno != EEXIST)
		return fragml_err_set(err, -errno, "%s: cannot create bpffs mount point: %s", bpffs,
				      strerror(errno));
	if (mount("bpf", bpffs, "bpf", 0, "mode=0700"))
		return fragml_err_set(err, -errno,
				      "%s: bpffs not mounted and mount failed (%s): mount it with 'mount -t bpf bpf %s'",
				      bpffs, strerror(errno), bpffs);
	*mounted = true;
	return 0;
}

static int preflight(const struct fragml_open_opts *o, struct fragml_err *err)
{
	const char *btf = o->btf_path ? o->btf_path : FRAGML_DEFAULT_BTF;

	if (geteuid() != 0)
		return fragml_err_set(err, -EPERM,
				      "needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN) to load BPF programs: run as root");
	if (access(btf, R_OK))
		return fragml_err_set(err, -ENOENT,
				      "%s: kernel BTF missing: fragml needs a kernel built with CONFIG_DEBUG_INFO_BTF=y",
				      btf);
	return 0;
}

static int read_info(struct fragml_handle *h, struct fragml_info *info, struct fragml_err *err)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(h->info_fd, &zero, info))
		return fragml_err_set(err, -errno, "%s/fragml_info: lookup failed: %s", h->dir,
				      strerror(errno));
	return 0;
}

static int write_info(struct fragml_handle *h, const struct fragml_info *info, struct fragml_err *err)
{
	__u32 zero = 0;

	if (bpf_map_update_elem(h->info_fd, &zero, info, BPF_ANY))
		return fragml_err_set(err, -errno, "%s/fragml_info: update failed: %s", h->dir,
				      strerror(errno));
	return 0;
}

int fragml_pin_count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int fragml_unpin_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[PATH_MAX];
	int ret = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (fragml_path_join(p, dir, e->d_name))
			continue;
		if (e->d_type == DT_DIR)
			ret = ret ?: fragml_unpin_tree(p);
		else if (unlink(p))
			ret = ret ?: -errno;
	}
	closedir(d);
	if (rmdir(dir) && !ret)
		ret = -errno;
	return ret;
}

/*
 * Size the observe programs' maps to the machine and leave out what nobody
 * asked for: without identification no source maps and no slab program,
 * without tracking no live-page hash, no filter and no free program.
 */
static void size_observe(struct fragml_observe *obs, const struct fragml_open_opts *o)
{
	struct fragml_track_sizes ts;
	bool live;

	fragml_track_sizes(fragml_ram_pages(), o->track_pages, &ts);
	live = ts.live > 0;
	obs->rodata->want_ident = o->identify;
	obs->rodata->want_live = live;
	obs->rodata->filter_mask = ts.filter_slots - 1;
	bpf_map__set_max_entries(obs->maps.fragml_task_state, ts.tasks);
	bpf_map__set_max_entries(obs->maps.fragml_track_filter, ts.filter_slots);
	bpf_map__set_max_entries(obs->maps.fragml_live, live ? ts.live : 1);
	bpf_map__set_max_entries(obs->maps.fragml_blocks, ts.blocks);
	bpf_map__set_max_entries(obs->maps.fragml_src, ts.sources);
	bpf_map__set_max_entries(obs->maps.fragml_src_slab, ts.slab_sources);
	bpf_map__set_autocreate(obs->maps.fragml_live, live);
	if (!o->identify)
		bpf_map__set_pin_path(obs->maps.fragml_live, NULL);	/* pinned for fragml report */
	bpf_map__set_autocreate(obs->maps.fragml_track_filter, live);
	bpf_program__set_autoload(obs->progs.fragml_observe_free, live);
	bpf_map__set_autocreate(obs->maps.fragml_src, o->identify);
	bpf_map__set_autocreate(obs->maps.fragml_src_slab, o->identify);
	bpf_map__set_autocreate(obs->maps.fragml_blocks, o->identify);
	bpf_map__set_autocreate(obs->maps.fragml_pending_slab, o->identify);
	bpf_program__set_autoload(obs->progs.fragml_observe_slab, o->identify);
}

/* Load and attach every observe program, pinning each link under links/.
 * Running programs stay, unless identification is asked for and they lack it:
 * then the new ones are attached first and the old links unpinned after. */
static int attach_observe(struct fragml_handle *h, const struct fragml_open_opts *o,
			  int *nattached, struct fragml_err *err)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = h->dir);
	struct bpf_link *lk[32] = { 0 };
	struct fragml_kaddrs ka;
	const char *lname[32];
	struct fragml_observe *obs;
	struct bpf_program *prog;
	char links[PATH_MAX], p[PATH_MAX];
	int ret = 0, n = 0;

	if (fragml_path_join(links, h->dir, "links") || fragml_path_join(p, h->dir, "fragml_src"))
		return fragml_err_set(err, -ENAMETOOLONG, "%s: path too long", h->dir);
	if (fragml_pin_count(links) > 0 && (!o->identify || access(p, F_OK) == 0)) {
		*nattached = fragml_pin_count(links);
		return 0;
	}
	obs = fragml_observe__open_opts(&oo);
	if (!obs)
		return fragml_err_set(err, -errno, "observe programs: open failed: %s", strerror(errno));
	size_observe(obs, o);
	ret = fragml_kaddrs(&ka, err);	/* also reads the call sites filled below */
	if (ret)
		goto out;
	obs->rodata->fragml_ksym_text = ka.text;
	obs->rodata->fragml_ksym_alloc_entry = ka.alloc_entry;
	ret = fragml_observe__load(obs);
	if (ret) {
		fragml_err_set(err, ret,
			       "observe programs: the kernel refused to load them (%s): the kernel needs BTF and tp_btf support (Linux >= 5.5)",
			       strerror(-ret));
		goto out;
	}
	/* symbols of the allocation call sites the programs classify by */
	ret = fragml_sites_fill(bpf_map__fd(obs->maps.fragml_sites), err);
	if (ret < 0)
		goto out;
	ret = 0;
	bpf_object__for_each_program(prog, obs->obj) {
		if (!bpf_program__autoload(prog))
			continue;
		if (n >= (int)(sizeof(lk) / sizeof(lk[0]))) {
			ret = fragml_err_set(err, -E2BIG, "observe programs: more than %zu",
					     sizeof(lk) / sizeof(lk[0]));
			break;
		}
		lname[n] = bpf_program__name(prog);
		lk[n] = bpf_program__attach(prog);
		if (!lk[n]) {
			ret = -errno;
			fragml_err_set(err, ret, "observe program %s: attach failed: %s",
				       bpf_program__name(prog), strerror(-ret));
			break;
		}
		n++;
	}
	if (!ret) {
		fragml_unpin_tree(links);	/* programs without identification, if any */
		mkdir(links, 0700);
		for (int i = 0; i < n && !ret; i++) {
			if (fragml_path_join(p, links, lname[i]) == 0)
				ret = bpf_link__pin(lk[i], p);
			if (ret)
				fragml_err_set(err, ret, "%s: pinning link failed: %s", p, strerror(-ret));
		}
		if (ret)
			fragml_unpin_tree(links);	/* all or nothing */
		else
			*nattached = n;
	}
	for (int i = 0; i < n; i++)
		bpf_link__destroy(lk[i]);	/* the pins keep them attached */
out:
	fragml_observe__destroy(obs);
	return ret;
}

int fragml_open(struct fragml_handle **hp, const struct fragml_open_opts *opts,
		struct fragml_open_info *info, struct fragml_err *err)
{
	static const struct fragml_open_opts defaults;
	struct fragml_open_info dummy;
	struct fragml_handle *h;
	struct fragml_info fi;
	int ret;

	opts = opts ? opts : &defaults;
	info = info ? info : &dummy;
	memset(info, 0, sizeof(*info));
	*hp = NULL;
	ret = preflight(opts, err);
	if (ret)
		return ret;
	h = calloc(1, sizeof(*h));
	if (!h)
		return fragml_err_set(err, -ENOMEM, "out of memory");
	h->lock_fd = h->models_fd = h->counters_fd = h->info_fd = h->shadow_fd = -1;
	h->no_compiled = opts->no_compiled;
	h->test_run = opts->test_run;
	snprintf(h->bpffs, sizeof(h->bpffs), "%s", opts->bpffs ? opts->bpffs : FRAGML_DEFAULT_BPFFS);
	if (fragml_pin_dir_of(h->bpffs, h->dir, sizeof(h->dir))) {
		ret = fragml_err_set(err, -ENAMETOOLONG, "%s: path too long", h->bpffs);
		goto fail;
	}
	ret = ensure_bpffs(h->bpffs, &info->mounted_bpffs, err);
	if (ret)
		goto fail;
	if (access(h->dir, F_OK) && !opts->install) {
		ret = fragml_err_set(err, -ENOENT, "%s: fragml is not loaded: run 'fragml-load MODEL' first",
				     h->dir);
		goto fail;
	}
	if (mkdir(h->dir, 0700) && errno != EEXIST) {
		ret = fragml_err_set(err, -errno, "%s: cannot create: %s", h->dir, strerror(errno));
		goto fail;
	}
	h->lock_fd = open(h->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (h->lock_fd < 0 || flock(h->lock_fd, LOCK_EX)) {
		ret = fragml_err_set(err, -errno, "%s: cannot lock: %s", h->dir, strerror(errno));
		goto fail;
	}
	/* Root only: pins are 0600 (the kernel's default), their directories 0700,
	 * also a directory that an older build or a hand-made mkdir left open. */
	if (opts->install && fchmod(h->lock_fd, 0700)) {
		ret = fragml_err_set(err, -errno, "%s: cannot chmod 0700: %s", h->dir, strerror(errno));
		goto fail;
	}

	libbpf_set_print(loader_libbpf_print);
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = h->dir);
	h->core = fragml_core__open_opts(&oo);
	if (!h->core) {
		ret = fragml_err_set(err, -errno, "core programs: open failed: %s", strerror(errno));
		goto fail;
	}
	/* The core's programs are test-run harnesses: only their users verify them. */
	bpf_program__set_autoload(h->core->progs.fragml_eval_batch, h->test_run);
	bpf_program__set_autoload(h->core->progs.fragml_test_batch_rt, h->test_run);
	ret = fragml_core__load(h->core);
	if (ret) {
		if (ret == -EPERM && fragml_guard_pinned(h->dir))
			ret = fragml_err_set(err, ret,
					     "%s: the fragml guard refused this program the pinned maps: only fragml-load and fragml change them (docs/guard.md)",
					     h->dir);
		else
			ret = fragml_err_set(err, ret,
					     "%s: the pinned maps do not match this build of fragml (or the kernel refused the core program: %s): run 'fragml detach' and load again",
					     h->dir, strerror(-ret));
		goto fail;
	}
	h->models_fd = bpf_map__fd(h->core->maps.fragml_models);
	h->counters_fd = bpf_map__fd(h->core->maps.fragml_counters);
	h->shadow_fd = bpf_map__fd(h->core->maps.fragml_shadow);
	h->info_fd = bpf_map__fd(h->core->maps.fragml_info);

	ret = read_info(h, &fi, err);
	if (ret)
		goto fail;
	if (fi.schema == 0) {
		fi.schema = FRAGML_SCHEMA_VERSION;
		fi.abi = FRAGML_KERNEL_ABI;
		fi.next_version = 1;
		fi.mode = FRAGML_MODE_OBSERVE;
		ret = write_info(h, &fi, err);
		if (ret)
			goto fail;
	} else if (fi.schema != FRAGML_SCHEMA_VERSION || fi.abi != FRAGML_KERNEL_ABI) {
		ret = fragml_err_set(err, -EPROTO,
				     "%s: running programs implement feature schema %u / kernel model layout %u, this build %d / %d: run 'fragml detach' first",
				     h->dir, fi.schema, fi.abi, FRAGML_SCHEMA_VERSION, FRAGML_KERNEL_ABI);
		goto fail;
	}
	if (opts->install) {
		char links[PATH_MAX];

		fragml_path_join(links, h->dir, "links");
		info->installed = fragml_pin_count(links) == 0 && !opts->no_observe;
		if (!opts->no_observe) {
			ret = attach_observe(h, opts, &info->attached_progs, err);
			if (ret)
				goto fail;
		}
		if (!opts->no_policy && !opts->bpffs && fragml_policy_supported(NULL) == 1) {
			/* Published fallback/placement models pick the variant. */
			bool fresh = access(FRAGML_POLICY_PIN, F_OK) != 0;

			ret = fragml_policy_attach_variant(models_variant(h), err);
			if (ret)
				goto fail;
			if (fresh)
				policy_compiled_sync(h);
			fi.mode = FRAGML_MODE_ENFORCE;
			ret = write_info(h, &fi, err);
			if (ret)
				goto fail;
		}
		/* never fatal: where LSM programs are refused it is "unavailable" */
		if (opts->guard || fragml_guard_pinned(h->dir))
			fragml_guard_setup(h, info);
	}
	info->enforce = fi.mode == FRAGML_MODE_ENFORCE;
	flock(h->lock_fd, LOCK_UN);
	*hp = h;
	return 0;
fail:
	fragml_close(h);
	return ret;
}

void fragml_close(struct fragml_handle *h)
{
	if (!h)
		return;
	fragml_core__destroy(h->core);
	btf__free(h->vmlinux_btf);
	if (h->lock_fd >= 0)
		close(h->lock_fd);
	free(h);
}

/*
 * Pack a validated model into the kernel layout.  Breadth-first per tree: a
 * split's children get adjacent entries (one shared entry when both are
 * leaves), so the walk needs only `left` and the step to the right child.
 */
int fragml_blob_pack(struct fragml_blob *b, const struct fragml_model *m, uint32_t version,
		     struct fragml_err *err)
{
	uint16_t queue[FRAGML_MAX_NODES], qslot[FRAGML_MAX_NODES];
	unsigned int used = 0;

	memset(b, 0, sizeof(*b));
	b->version = version;
	b->crc32 = m->crc32;
	b->hook = m->hook;
	b->output = m->output;
	b->n_actions = m->n_actions;
	b->max_depth = m->max_depth;
	b->n_trees = m->n_trees;
	b->n_nodes = m->n_nodes;
	b->schema = m->schema;
	b->counter_row = version % FRAGML_COUNTER_ROWS;
	_Static_assert(sizeof(b->sha256) >= FRAGML_SHA256_HEX, "blob sha256 field");
	if (fragml_model_sha256(m, b->sha256, err))
		return err && err->code ? err->code : -EINVAL;
	memcpy(b->base, m->base, sizeof(b->base));
	memcpy(b->thresholds, m->thresholds, sizeof(b->thresholds));
	for (unsigned int t = 0; t < m->n_trees; t++) {
		const struct fragml_node *root = &m->nodes[m->trees[t].root];
		unsigned int qh = 0, qt = 0;

		if (used >= FRAGML_KNODES)
			goto full;
		b->tree[t] = used * 8u | (uint32_t)m->trees[t].cls << FRAGML_KT_CLS_SHIFT;
		if (root->info & FRAGML_NODE_LEAF) {
			b->tree[t] |= FRAGML_KT_LEAF;
			b->knode[used++].thr = (uint32_t)root->value;
			continue;
		}
		queue[qt] = m->trees[t].root;
		qslot[qt++] = (uint16_t)used++;
		while (qh < qt) {
			const struct fragml_node *n = &m->nodes[queue[qh]];
			const struct fragml_node *l = &m->nodes[n->left], *r = &m->nodes[n->left + 1];
			struct fragml_knode *k = &b->knode[qslot[qh++]];
			unsigned int ll = !!(l->info & FRAGML_NODE_LEAF), rl = !!(r->info & FRAGML_NODE_LEAF);
			uint32_t fb = (n->info & FRAGML_NODE_FEAT_MASK) * 4u, bias;

			if (!(n->info & FRAGML_NODE_DEFAULT_LEFT))
				fb |= FRAGML_KN_DFLT_RIGHT;
			if (ll && rl)
				fb |= FRAGML_KN_PAIR;
			if (used + (ll && rl ? 1 : 2) > FRAGML_KNODES)
				goto full;
			k->thr = fragml_split_ukey(n, &bias);
			k->meta = used * 8u | fb << FRAGML_KN_FB_SHIFT | (uint32_t)ll << FRAGML_KN_LLEAF_SHIFT |
				  (uint32_t)rl << FRAGML_KN_RLEAF_SHIFT;
			if (ll && rl) {
				b->knode[used].thr = (uint32_t)l->value;
				b->knode[used++].meta = (uint32_t)r->value;
				continue;
			}
			for (unsigned int c = 0; c < 2; c++) {
				const struct fragml_node *ch = c ? r : l;

				if (ch->info & FRAGML_NODE_LEAF) {
					b->knode[used].thr = (uint32_t)ch->value;
				} else {
					queue[qt] = (uint16_t)(n->left + c);
					qslot[qt++] = (uint16_t)used;
				}
				used++;
			}
		}
	}
	b->n_knodes = (uint16_t)used;
	return 0;
full:
	return fragml_err_set(err, -E2BIG, "model: %u nodes need more than %d kernel entries (8 bytes each)",
			      m->n_nodes, FRAGML_KNODES);
}

static int zero_counters(struct fragml_handle *h, unsigned int hook, unsigned int row,
			 struct fragml_err *err)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *zeros;
	int ret = 0;

	if (ncpu <= 0)
		return fragml_err_set(err, ncpu ? ncpu : -EINVAL, "cannot count possible CPUs");
	zeros = calloc((size_t)ncpu, sizeof(*zeros));
	if (!zeros)
		return fragml_err_set(err, -ENOMEM, "out of memory");
	for (unsigned int a = 0; a < FRAGML_MAX_ACTIONS && !ret; a++) {
		__u32 key = FRAGML_COUNTER_INDEX(hook, row, a);

		if (bpf_map_update_elem(h->counters_fd, &key, zeros, BPF_ANY))
			ret = fragml_err_set(err, -errno, "%s/fragml_counters: reset failed: %s", h->dir,
					     strerror(errno));
		key = FRAGML_SHADOW_INDEX(hook, a);
		if (!ret && bpf_map_update_elem(h->shadow_fd, &key, zeros, BPF_ANY))
			ret = fragml_err_set(err, -errno, "%s/fragml_shadow: reset failed: %s", h->dir,
					     strerror(errno));
	}
	free(zeros);
	return ret;
}

static int hook_pin(char *out, const struct fragml_handle *h, unsigned int hook, const char *suffix)
{
	return snprintf(out, PATH_MAX, "%s/%s_%s", h->dir, fragml_hook_name(hook), suffix) >= PATH_MAX
		? -ENAMETOOLONG : 0;
}

static int lock(struct fragml_handle *h, struct fragml_err *err)
{
	if (flock(h->lock_fd, LOCK_EX))
		return fragml_err_set(err, -errno, "%s: cannot lock: %s", h->dir, strerror(errno));
	return 0;
}

/* Version currently in a hook's slot (0 = empty). */
static uint32_t slot_version(struct fragml_handle *h, unsigned int hook)
{
	__u32 key = hook, id = 0, zero = 0, v = 0;
	struct fragml_blob *b;
	int fd;

	if (bpf_map_lookup_elem(h->models_fd, &key, &id) || !id)
		return 0;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return 0;
	b = malloc(sizeof(*b));
	if (b && !bpf_map_lookup_elem(fd, &zero, b))
		v = b->version;
	free(b);
	close(fd);
	return v;
}

/*
 * When the first fallback or placement model is published, the attached
 * model-driven policy is swapped, atomically, for the variant that has the
 * callback (models_variant()).
 */
static int enable_gate(struct fragml_handle *h, struct fragml_err *err)
{
	const char *want = models_variant(h);
	char cur[32];

	if (fragml_policy_current(cur, sizeof(cur), NULL) || !strcmp(cur, want))
		return 0;
	/* only the model-driven variants follow the published models */
	if (strcmp(cur, FRAGML_POLICY_MODELS) && strcmp(cur, FRAGML_POLICY_GATE) &&
	    strcmp(cur, FRAGML_POLICY_PLACE) && strcmp(cur, FRAGML_POLICY_ALL))
		return 0;
	return fragml_policy_update(want, err);
}

/*
 * The compiled form of a model version for the test-run caller
 * (fragml_test_batch_rt): generated and verified before the switch, so the
 * switch itself stays two map updates.  Never fatal: where the kernel refuses
 * it, the map evaluator decides, and cinfo.note says why (one line).
 */
static int compiled_build(struct fragml_handle *h, const struct fragml_model *m, uint32_t version)
{
	struct fragml_cgen_target t = {
		.cio_fd = bpf_map__fd(h->core->maps.fragml_cio_rt),
		.counters_fd = h->counters_fd,
		.type = BPF_PROG_TYPE_RAW_TRACEPOINT,
	};
	struct fragml_err e = { 0 };
	uint64_t t0 = loader_mono_ns();
	int fd;

	memset(&h->cinfo, 0, sizeof(h->cinfo));
	h->cinfo.hook = m->hook;
	h->cinfo.version = version;
	if (h->no_compiled) {
		snprintf(h->cinfo.note, sizeof(h->cinfo.note), "compiled evaluator off: %s v%u decides with the map evaluator",
			 fragml_hook_name(m->hook), version);
		return -1;
	}
	if (!h->test_run)	/* no test-run program to call it: observe_compiled() notes */
		return -1;
	fd = fragml_compile_load(m, version, &t, &h->cinfo.insns, &e);
	h->cinfo.load_ns = loader_mono_ns() - t0;
	if (fd < 0) {
		snprintf(h->cinfo.note, sizeof(h->cinfo.note),
			 "%s; %s v%u decides with the map evaluator", e.msg, fragml_hook_name(m->hook), version);
		return -1;
	}
	h->cinfo.compiled = true;
	return fd;
}

/* Put prog fd (or nothing, fd < 0) in the hook's compiled slot. */
static void compiled_install(struct fragml_handle *h, unsigned int hook, int fd)
{
	int afd = bpf_map__fd(h->core->maps.fragml_cprog_rt);
	__u32 key = hook;

	if (fd >= 0 && bpf_map_update_elem(afd, &key, &fd, BPF_ANY) == 0)
		return;
	if (fd >= 0 && !h->cinfo.note[0]) {
		h->cinfo.compiled = false;
		snprintf(h->cinfo.note, sizeof(h->cinfo.note),
			 "%s/fragml_cprog_rt: slot %s update failed (%s); the map evaluator decides",
			 h->dir, fragml_hook_name(hook), strerror(errno));
	}
	bpf_map_delete_elem(afd, &key);	/* never leave an older version's code in force */
}

/*
 * Observe programs that reach compiled versions: per deciding program (its
 * pinned link), the hook and the name of its program array; the compiled
 * program is loaded for that program's tracepoint and reads that program's
 * per-CPU fragml_scratch.
 */
static const struct {
	const char *link;
	unsigned int hook;
	const char *array;
} observe_callers[] = {
	{ "fragml_observe_compact_begin", FRAGML_HOOK_COMPACTION, "fragml_cprog_cb" },
	{ "fragml_observe_alloc", FRAGML_HOOK_LIFETIME, "fragml_cprog_al" },
	{ "fragml_observe_alloc", FRAGML_HOOK_THP_FAULT, "fragml_cprog_al" },
	{ "fragml_observe_extfrag", FRAGML_HOOK_LIFETIME, "fragml_cprog_ef" },
};
#define N_OBSERVE_CALLERS (sizeof(observe_callers) / sizeof(observe_callers[0]))

/* The observe program behind links/<name>: its attach BTF id and the fds of
 * its maps named `array` and fragml_scratch.  -ENOENT when not attached. */
static int observe_caller(struct fragml_handle *h, const char *name, const char *array,
			  __u32 *btf_id, int *afd, int *sfd)
{
	struct bpf_link_info li;
	struct bpf_prog_info pi;
	__u32 len, ids[64];
	char p[PATH_MAX];
	int lfd, pfd;

	*afd = *sfd = -1;
	if (snprintf(p, sizeof(p), "%s/links/%s", h->dir, name) >= (int)sizeof(p))
		return -ENAMETOOLONG;
	lfd = bpf_obj_get(p);
	if (lfd < 0)
		return -ENOENT;
	memset(&li, 0, sizeof(li));
	len = sizeof(li);
	pfd = bpf_link_get_info_by_fd(lfd, &li, &len) ? -1 : bpf_prog_get_fd_by_id(li.prog_id);
	close(lfd);
	if (pfd < 0)
		return -ENOENT;
	memset(&pi, 0, sizeof(pi));
	len = sizeof(pi);
	pi.nr_map_ids = 64;
	pi.map_ids = (__u64)(unsigned long)ids;
	if (bpf_prog_get_info_by_fd(pfd, &pi, &len)) {
		close(pfd);
		return -errno;
	}
	close(pfd);
	*btf_id = pi.attach_btf_id;
	for (__u32 i = 0; i < pi.nr_map_ids && i < 64; i++) {
		struct bpf_map_info mi;
		int fd = bpf_map_get_fd_by_id(ids[i]);

		memset(&mi, 0, sizeof(mi));
		len = sizeof(mi);
		if (fd < 0 || bpf_map_get_info_by_fd(fd, &mi, &len)) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		if (*afd < 0 && !strcmp(mi.name, array))
			*afd = fd;
		else if (*sfd < 0 && !strcmp(mi.name, "fragml_scratch"))
			*sfd = fd;
		else
			close(fd);
	}
	if (*afd < 0 || *sfd < 0) {
		if (*afd >= 0)
			close(*afd);
		if (*sfd >= 0)
			close(*sfd);
		*afd = *sfd = -1;
		return -ENOENT;	/* programs of an older build */
	}
	return 0;
}

/*
 * Compile `m` (version) for a caller whose program array is `afd` and put it
 * in slot `hook`; m = NULL, the compiled form off or a refusal empty the slot
 * (an older version's code never stays in force).  A successful compile is
 * the one fragml-load reports when no test-run caller is loaded; the first
 * refusal is noted, naming the caller (`where`).  `e` may carry an earlier
 * failure (the caller's target not found): then nothing is compiled.
 */
static void caller_install(struct fragml_handle *h, const struct fragml_model *m, uint32_t version,
			   const struct fragml_cgen_target *t, int afd, unsigned int hook,
			   const char *where, struct fragml_err *e)
{
	__u32 key = hook;
	int fd = -1;

	if (m && !h->no_compiled) {
		uint64_t t0 = loader_mono_ns();

		if (!e->code)
			fd = fragml_compile_load(m, version, t, h->test_run ? NULL : &h->cinfo.insns, e);
		if (fd >= 0 && !h->test_run) {
			h->cinfo.compiled = true;
			h->cinfo.load_ns = loader_mono_ns() - t0;
		}
		if (fd < 0 && !h->cinfo.note[0]) {
			h->cinfo.compiled = false;
			snprintf(h->cinfo.note, sizeof(h->cinfo.note),
				 "%s (for %s); %s v%u decides with the map evaluator there", e->msg, where,
				 fragml_hook_name(hook), version);
		}
	}
	if (fd < 0 || bpf_map_update_elem(afd, &key, &fd, BPF_ANY))
		bpf_map_delete_elem(afd, &key);
	if (fd >= 0)
		close(fd);
}

/*
 * The compiled form of `m` (version) for every attached observe program that
 * decides for its hook; m = NULL empties their slots.  After the model slot's
 * switch: until then those programs' previous compiled version (one whole
 * model) decides.  A refusal empties the slot and is noted like the test-run
 * caller's.
 */
static void observe_compiled(struct fragml_handle *h, unsigned int hook, const struct fragml_model *m,
			     uint32_t version)
{
	for (unsigned int i = 0; i < N_OBSERVE_CALLERS; i++) {
		struct fragml_cgen_target t = {
			.counters_fd = h->counters_fd,
			.type = BPF_PROG_TYPE_TRACING,
			.attach = BPF_TRACE_RAW_TP,
		};
		struct fragml_err e = { 0 };
		int afd, sfd;

		if (observe_callers[i].hook != hook ||
		    observe_caller(h, observe_callers[i].link, observe_callers[i].array,
				   &t.attach_btf_id, &afd, &sfd))
			continue;
		t.cio_fd = sfd;
		caller_install(h, m, version, &t, afd, hook, observe_callers[i].link, &e);
		close(afd);
		close(sfd);
	}
}

/*
 * The struct_ops policy's callbacks (bpf/fragml_policy.bpf.c): per hook, the
 * pinned program array of the callback that decides it.  The compiled program
 * is loaded as a struct_ops program for that callback (a tail call needs the
 * caller's attach prototype) and reads the policy's pinned per-CPU
 * fragml_scratch.  Shared by every variant of the policy, and pinned, so it
 * is filled whether or not a policy is attached right now.
 */
static const struct {
	const char *member;
	unsigned int hook;
	const char *array;
} policy_callers[] = {
	{ "thp_fault", FRAGML_HOOK_THP_FAULT, "fragml_cprog_thp" },
	{ "compact", FRAGML_HOOK_COMPACTION, "fragml_cprog_cmp" },
	{ "fallback", FRAGML_HOOK_FALLBACK, "fragml_cprog_fb" },
	{ "placement", FRAGML_HOOK_PLACEMENT, "fragml_cprog_pl" },
};
#define N_POLICY_CALLERS (sizeof(policy_callers) / sizeof(policy_callers[0]))

/* struct mm_policy_ops's BTF id in vmlinux and the index of `member` in it
 * (vmlinux BTF parsed once per handle). */
static int policy_member(struct fragml_handle *h, const char *member, __u32 *type_id, __u32 *idx)
{
	const struct btf_member *mb;
	const struct btf_type *t;
	int id;

	if (!h->vmlinux_btf) {
		h->vmlinux_btf = btf__load_vmlinux_btf();
		if (!h->vmlinux_btf)
			return -errno;
	}
	id = btf__find_by_name_kind(h->vmlinux_btf, FRAGML_POLICY_KTYPE, BTF_KIND_STRUCT);
	if (id <= 0)
		return -ENOENT;
	t = btf__type_by_id(h->vmlinux_btf, id);
	mb = btf_members(t);
	for (__u32 i = 0; i < btf_vlen(t); i++, mb++)
		if (!strcmp(btf__name_by_offset(h->vmlinux_btf, mb->name_off), member)) {
			*type_id = id;
			*idx = i;
			return 0;
		}
	return -ENOENT;
}

/* The pinned map `name` of the pin directory, or -1. */
static int pinned_map(struct fragml_handle *h, const char *name)
{
	char p[PATH_MAX];

	if (snprintf(p, sizeof(p), "%s/%s", h->dir, name) >= (int)sizeof(p))
		return -1;
	return bpf_obj_get(p);
}

/*
 * The compiled form of `m` (version) for the policy's callback of `hook`;
 * m = NULL empties the slot.  Nothing to do before a policy was ever attached
 * (no pinned array).  Reported like the observe callers: a successful compile
 * is the one fragml-load reports without the test-run caller, a refusal
 * empties the slot and is noted.
 */
static void policy_compiled(struct fragml_handle *h, unsigned int hook, const struct fragml_model *m,
			    uint32_t version)
{
	for (unsigned int i = 0; i < N_POLICY_CALLERS; i++) {
		struct fragml_cgen_target t = {
			.counters_fd = h->counters_fd,
			.type = BPF_PROG_TYPE_STRUCT_OPS,
		};
		struct fragml_err e = { 0 };
		__u32 member = 0;
		char where[64];
		int afd, ret;

		if (policy_callers[i].hook != hook)
			continue;
		afd = pinned_map(h, policy_callers[i].array);
		if (afd < 0)
			continue;
		t.cio_fd = pinned_map(h, "fragml_scratch");
		if (m && !h->no_compiled) {
			ret = t.cio_fd < 0 ? -ENOENT : policy_member(h, policy_callers[i].member,
								       &t.attach_btf_id, &member);
			if (ret)
				fragml_err_set(&e, ret, "compiled %s v%u: %s/fragml_scratch or %s.%s not found (%s)",
					       fragml_hook_name(hook), version, h->dir, FRAGML_POLICY_KTYPE,
					       policy_callers[i].member, strerror(-ret));
			t.attach = (enum bpf_attach_type)member;
		}
		snprintf(where, sizeof(where), "the policy's %s", policy_callers[i].member);
		caller_install(h, m, version, &t, afd, hook, where, &e);
		close(afd);
		if (t.cio_fd >= 0)
			close(t.cio_fd);
	}
}

static int read_slot(struct fragml_handle *h, unsigned int hook, struct fragml_blob *b,
		     int *map_fd, struct fragml_err *err);

/*
 * After the policy is attached: the compiled form of every live model for its
 * callbacks (the arrays are new the first time; after that they were kept up
 * to date with every publish).
 */
static void policy_compiled_sync(struct fragml_handle *h)
{
	struct fragml_model *m = malloc(sizeof(*m));
	uint32_t version;

	for (unsigned int i = 0; m && i < N_POLICY_CALLERS; i++)
		if (!fragml_live_model(h, policy_callers[i].hook, m, &version, NULL))
			policy_compiled(h, policy_callers[i].hook, m, version);
	free(m);
}

/* After a rollback: the compiled form of what the slot holds now. */
static void compiled_rebuild(struct fragml_handle *h, unsigned int hook, uint32_t version)
{
	struct fragml_blob *b = malloc(sizeof(*b));
	struct fragml_model *m = malloc(sizeof(*m));
	int fd = -1;

	bool ok = b && m && version && read_slot(h, hook, b, NULL, NULL) == 0 &&
		  b->version == version && fragml_blob_to_model(b, m, NULL) == 0;

	if (ok)
		fd = compiled_build(h, m, version);
	compiled_install(h, hook, fd);
	observe_compiled(h, hook, ok ? m : NULL, version);
	policy_compiled(h, hook, ok ? m : NULL, version);
	if (fd >= 0)
		close(fd);
	free(b);
	free(m);
}

const struct fragml_compiled_info *fragml_compiled_last(const struct fragml_handle *h)
{
	return &h->cinfo;
}

/*
 * The observe programs walk the stack for a site only once fragml_site_want
 * is set (bpf/fragml_features.bpf.h): from the first publish of a lifetime
 * model that splits on site_long_ppk, a rollback of the lifetime hook or a
 * site table, until `fragml detach`.  Quiet: observe programs of an older
 * build have no such map, and then compute no site either.
 */
static void site_want_set(struct fragml_handle *h, bool on)
{
	char p[PATH_MAX + 32];
	__u32 zero = 0, v = on;
	int fd;

	snprintf(p, sizeof(p), "%s/fragml_site_want", h->dir);
	fd = bpf_obj_get(p);
	if (fd < 0)
		return;
	bpf_map_update_elem(fd, &zero, &v, BPF_ANY);
	close(fd);
}

static bool model_uses_feature(const struct fragml_model *m, unsigned int f)
{
	for (unsigned int i = 0; i < m->n_nodes; i++)
		if (!(m->nodes[i].info & FRAGML_NODE_LEAF) &&
		    (m->nodes[i].info & FRAGML_NODE_FEAT_MASK) == f)
			return true;
	return false;
}

int fragml_publish(struct fragml_handle *h, const struct fragml_model *m, uint32_t *version,
		   struct fragml_err *err)
{
	char cur[PATH_MAX], prev[PATH_MAX], new[PATH_MAX];
	struct fragml_blob *blob = NULL;
	struct fragml_info fi;
	__u32 key = m->hook, zero = 0;
	char name[16];
	uint32_t old;
	int fd = -1, cfd = -1, ret;

	if (m->hook >= FRAGML_NR_HOOKS)
		return fragml_err_set(err, -EINVAL, "model: hook kind %u unknown", m->hook);
	ret = lock(h, err);
	if (ret)
		return ret;
	ret = read_info(h, &fi, err);
	if (ret)
		goto out;
	if (m->schema != fi.schema) {
		ret = fragml_err_set(err, -EPROTO,
				     "model: feature schema %u, running programs implement schema %u: retrain the model for schema %u or upgrade fragml",
				     m->schema, fi.schema, fi.schema);
		goto out;
	}
	/* a split on a feature the deciding program never computes walks its
	 * missing-value branch on every decision: refuse it, naming the feature */
	ret = fragml_model_check_mode(m, fi.mode, err);
	if (ret)
		goto out;
	if (hook_pin(cur, h, m->hook, "cur") || hook_pin(prev, h, m->hook, "prev") ||
	    hook_pin(new, h, m->hook, "new")) {
		ret = fragml_err_set(err, -ENAMETOOLONG, "%s: path too long", h->dir);
		goto out;
	}
	/* Reserve the version first: a version number is never handed out twice. */
	old = slot_version(h, m->hook);
	*version = fi.next_version ? fi.next_version : 1;
	fi.next_version = *version + 1;
	ret = write_info(h, &fi, err);
	if (ret)
		goto out;

	blob = malloc(sizeof(*blob));
	if (!blob) {
		ret = fragml_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	ret = fragml_blob_pack(blob, m, *version, err);
	if (ret)
		goto out;
	snprintf(name, sizeof(name), "frgm_%.3s_v%u", fragml_hook_name(m->hook), *version % 100000);
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, name, sizeof(__u32), sizeof(*blob), 1, NULL);
	if (fd < 0) {
		ret = fragml_err_set(err, -errno,
				     "model map: creation failed (%s): check the memlock limit / kernel memory",
				     strerror(errno));
		goto out;
	}
	fragml_guard_protect_fd(h, fd);	/* before anyone else can open it by id */
	if (bpf_map_update_elem(fd, &zero, blob, BPF_ANY) || bpf_map_freeze(fd)) {
		ret = fragml_err_set(err, -errno, "model map: fill/freeze failed: %s", strerror(errno));
		goto out;
	}
	ret = zero_counters(h, m->hook, *version % FRAGML_COUNTER_ROWS, err);
	if (ret)
		goto out;
	cfd = compiled_build(h, m, *version);
	unlink(new);
	if (bpf_obj_pin(fd, new)) {
		ret = fragml_err_set(err, -errno, "%s: pin failed: %s", new, strerror(errno));
		goto out;
	}
	/* sites before the model that reads them (a site table keeps them on) */
	if (m->hook == FRAGML_HOOK_LIFETIME && (model_uses_feature(m, FRAGML_F_SITE_LONG_PPK) ||
						model_uses_feature(m, FRAGML_F_PATH_LONG_PPK)))
		site_want_set(h, true);
	/* The switch: one update of the slot; programs pick it up at their next decision. */
	if (bpf_map_update_elem(h->models_fd, &key, &fd, BPF_ANY)) {
		ret = fragml_err_set(err, -errno, "%s/fragml_models: slot %s update failed: %s", h->dir,
				     fragml_hook_name(m->hook), strerror(errno));
		unlink(new);
		goto out;
	}
	/* ... and one of the compiled slot (emptied when there is no compiled form) */
	compiled_install(h, m->hook, cfd);
	observe_compiled(h, m->hook, m, *version);
	policy_compiled(h, m->hook, m, *version);
	unlink(prev);
	if (rename(cur, prev) && errno != ENOENT)
		unlink(cur);
	rename(new, cur);
	if (!read_info(h, &fi, NULL)) {
		fi.prev_version[m->hook] = old;
		write_info(h, &fi, NULL);
	}
	if ((m->hook == FRAGML_HOOK_FALLBACK || m->hook == FRAGML_HOOK_PLACEMENT) &&
	    fi.mode == FRAGML_MODE_ENFORCE) {
		ret = enable_gate(h, err);
		fragml_guard_refresh(h);	/* the gate variant's struct_ops map */
	}
out:
	if (fd >= 0)
		close(fd);
	if (cfd >= 0)
		close(cfd);
	free(blob);
	flock(h->lock_fd, LOCK_UN);
	return ret;
}

int fragml_rollback(struct fragml_handle *h, unsigned int hook, uint32_t *version,
		    struct fragml_err *err)
{
	char cur[PATH_MAX], prev[PATH_MAX], tmp[PATH_MAX];
	struct fragml_info fi;
	__u32 key = hook;
	uint32_t old;
	int fd, ret;

	if (hook >= FRAGML_NR_HOOKS)
		return fragml_err_set(err, -EINVAL, "hook %u unknown", hook);
	if (hook_pin(cur, h, hook, "cur") || hook_pin(prev, h, hook, "prev") ||
	    hook_pin(tmp, h, hook, "swap"))
		return fragml_err_set(err, -ENAMETOOLONG, "%s: path too long", h->dir);
	ret = lock(h, err);
	if (ret)
		return ret;
	fd = bpf_obj_get(prev);
	if (fd < 0) {
		ret = fragml_err_set(err, -ENOENT, "%s: no previous %s model to roll back to", prev,
				     fragml_hook_name(hook));
		goto out;
	}
	old = slot_version(h, hook);
	/* the previous model may split on site_long_ppk or path_long_ppk: sites on
	 * (they stay on) */
	if (hook == FRAGML_HOOK_LIFETIME)
		site_want_set(h, true);
	if (bpf_map_update_elem(h->models_fd, &key, &fd, BPF_ANY)) {
		ret = fragml_err_set(err, -errno, "%s/fragml_models: slot %s update failed: %s", h->dir,
				     fragml_hook_name(hook), strerror(errno));
		goto out;
	}
	/* Swap the pins, so a second rollback rolls forward again. */
	unlink(tmp);
	if (rename(cur, tmp) == 0) {
		rename(prev, cur);
		rename(tmp, prev);
	} else {
		rename(prev, cur);
	}
	*version = slot_version(h, hook);
	compiled_rebuild(h, hook, *version);
	if (!read_info(h, &fi, NULL)) {
		fi.prev_version[hook] = old;
		write_info(h, &fi, NULL);
	}
out:
	if (fd >= 0)
		close(fd);
	flock(h->lock_fd, LOCK_UN);
	return ret;
}

int fragml_unpublish(struct fragml_handle *h, unsigned int hook, struct fragml_err *err)
{
	char cur[PATH_MAX], prev[PATH_MAX];
	__u32 key = hook;
	int ret;

	if (hook >= FRAGML_NR_HOOKS)
		return fragml_err_set(err, -EINVAL, "hook %u unknown", hook);
	hook_pin(cur, h, hook, "cur");
	hook_pin(prev, h, hook, "prev");
	ret = lock(h, err);
	if (ret)
		return ret;
	compiled_install(h, hook, -1);
	observe_compiled(h, hook, NULL, 0);
	policy_compiled(h, hook, NULL, 0);
	if (bpf_map_delete_elem(h->models_fd, &key) && errno != ENOENT)
		ret = fragml_err_set(err, -errno, "slot %s: clear failed: %s", fragml_hook_name(hook),
				     strerror(errno));
	else if (access(cur, F_OK) == 0) {
		unlink(prev);
		rename(cur, prev);
	}
	flock(h->lock_fd, LOCK_UN);
	return ret;
}

/* A split threshold back from its unsigned key (fragml_split_ukey()).  The
 * two thresholds INT32_MIN and INT32_MIN + 1 share a key; they decide every
 * x alike (x < either is true only for the missing value, which takes the
 * default side), so either is the model's. */
static int32_t ukey_threshold(uint32_t key, bool dflt_right)
{
	int32_t v = (int32_t)(key ^ 0x80000000u);

	if (!dflt_right)
		return v;
	return v == INT32_MIN ? INT32_MIN + 1 : v + 1;
}

/*
 * The model a blob holds, unpacked from the kernel layout (fragml_blob_pack())
 * into the file layout with each tree's nodes in breadth-first order.  It
 * decides exactly as the published file does; node numbers may differ from
 * the file's, which status does not need: the file's SHA-256 is in the blob.
 */
int fragml_blob_to_model(const struct fragml_blob *b, struct fragml_model *m, struct fragml_err *err)
{
	uint16_t queue[FRAGML_MAX_NODES], qnode[FRAGML_MAX_NODES];
	unsigned int n = 0;

	memset(m, 0, sizeof(*m));
	m->hook = b->hook;
	m->output = b->output;
	m->n_actions = b->n_actions;
	m->schema = b->schema;
	m->n_trees = b->n_trees;
	if (m->n_trees > FRAGML_MAX_TREES || b->n_knodes > FRAGML_KNODES)
		return fragml_err_set(err, -EINVAL, "model v%u in the kernel: %u trees, %u entries: beyond the limits",
				      b->version, m->n_trees, b->n_knodes);
	memcpy(m->base, b->base, sizeof(m->base));
	memcpy(m->thresholds, b->thresholds, sizeof(m->thresholds));
	for (unsigned int t = 0; t < m->n_trees; t++) {
		unsigned int root = (b->tree[t] & FRAGML_KT_OFF_MASK) / 8, qh = 0, qt = 0;

		m->trees[t].cls = (uint8_t)(b->tree[t] >> FRAGML_KT_CLS_SHIFT);
		m->trees[t].root = (uint16_t)n;
		if (n >= FRAGML_MAX_NODES || root >= FRAGML_KNODES)
			goto bad;
		if (b->tree[t] & FRAGML_KT_LEAF) {
			m->nodes[n].info = FRAGML_NODE_LEAF;
			m->nodes[n++].value = (int32_t)b->knode[root].thr;
			continue;
		}
		queue[qt] = (uint16_t)root;
		qnode[qt++] = (uint16_t)n++;
		while (qh < qt) {
			const struct fragml_knode *k = &b->knode[queue[qh]];
			struct fragml_node *nd = &m->nodes[qnode[qh++]];
			uint32_t fb = (k->meta >> FRAGML_KN_FB_SHIFT) & 0xffu;
			unsigned int left = (k->meta & FRAGML_KN_LEFT_MASK) / 8;
			bool dflt_right = fb & FRAGML_KN_DFLT_RIGHT;

			if (n + 2 > FRAGML_MAX_NODES || left + 1 >= FRAGML_KNODES)
				goto bad;
			nd->info = (uint16_t)(fb >> 2) | (dflt_right ? 0 : FRAGML_NODE_DEFAULT_LEFT);
			nd->value = ukey_threshold(k->thr, dflt_right);
			nd->left = (uint16_t)n;
			if (fb & FRAGML_KN_PAIR) {
				m->nodes[n].info = m->nodes[n + 1].info = FRAGML_NODE_LEAF;
				m->nodes[n].value = (int32_t)b->knode[left].thr;
				m->nodes[n + 1].value = (int32_t)b->knode[left].meta;
				n += 2;
				continue;
			}
			for (unsigned int c = 0; c < 2; c++, n++) {
				if (k->meta >> (c ? FRAGML_KN_RLEAF_SHIFT : FRAGML_KN_LLEAF_SHIFT) & 1) {
					m->nodes[n].info = FRAGML_NODE_LEAF;
					m->nodes[n].value = (int32_t)b->knode[left + c].thr;
				} else {
					if (qt >= FRAGML_MAX_NODES)
						goto bad;
					queue[qt] = (uint16_t)(left + c);
					qnode[qt++] = (uint16_t)n;
				}
			}
		}
	}
	m->n_nodes = (uint16_t)n;
	if (fragml_model_validate(m, "model in the kernel", err))
		return err && err->code ? err->code : -EINVAL;
	m->crc32 = b->crc32;
	return 0;
bad:
	return fragml_err_set(err, -EINVAL, "model v%u in the kernel: malformed packed trees", b->version);
}

/* Copy of the blob in a hook's slot; -ENOENT if the slot is empty. */
static int read_slot(struct fragml_handle *h, unsigned int hook, struct fragml_blob *b,
		     int *map_fd, struct fragml_err *err)
{
	__u32 key = hook, id = 0, zero = 0;
	int fd;

	if (bpf_map_lookup_elem(h->models_fd, &key, &id) || !id)
		return -ENOENT;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0 || bpf_map_lookup_elem(fd, &zero, b)) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return fragml_err_set(err, -e, "slot %s: cannot read model map %u: %s",
				      fragml_hook_name(hook), id, strerror(e));
	}
	if (map_fd)
		*map_fd = fd;
	else
		close(fd);
	return 0;
}

int fragml_live_model(struct fragml_handle *h, unsigned int hook, struct fragml_model *m,
		      uint32_t *version, struct fragml_err *err)
{
	struct fragml_blob *b;
	int ret;

	if (hook >= FRAGML_NR_HOOKS)
		return fragml_err_set(err, -EINVAL, "hook %u unknown", hook);
	b = malloc(sizeof(*b));
	if (!b)
		return fragml_err_set(err, -ENOMEM, "out of memory");
	ret = read_slot(h, hook, b, NULL, err);
	if (ret == -ENOENT)
		fragml_err_set(err, ret, "%s: no %s model loaded: the kernel default decides",
			       h->dir, fragml_hook_name(hook));
	if (!ret)
		ret = fragml_blob_to_model(b, m, err);
	if (!ret && version)
		*version = b->version;
	free(b);
	return ret;
}

int fragml_status(struct fragml_handle *h, unsigned int hook, struct fragml_hook_status *st,
		  struct fragml_err *err)
{
	int ncpu = libbpf_num_possible_cpus();
	struct fragml_model *m = NULL;
	struct fragml_blob *b = NULL;
	struct fragml_info fi;
	__u64 *vals = NULL;
	int fd = -1, ret = 0;

	memset(st, 0, sizeof(*st));
	if (hook >= FRAGML_NR_HOOKS)
		return fragml_err_set(err, -EINVAL, "hook %u unknown", hook);
	if (!read_info(h, &fi, NULL))
		st->prev_version = fi.prev_version[hook];
	b = malloc(sizeof(*b));
	m = malloc(sizeof(*m));
	vals = calloc(ncpu > 0 ? (size_t)ncpu : 1, sizeof(*vals));
	if (!b || !m || !vals) {
		ret = fragml_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	ret = read_slot(h, hook, b, &fd, err);
	if (ret) {
		ret = ret == -ENOENT ? 0 : ret;
		goto out;
	}
	/* The model's identity: SHA-256 of its file, recorded when it was published. */
	snprintf(st->sha256, sizeof(st->sha256), "%.*s", FRAGML_SHA256_HEX - 1, b->sha256);
	st->loaded = true;
	st->version = b->version;
	st->crc32 = b->crc32;
	st->n_trees = b->n_trees;
	st->n_nodes = b->n_nodes;
	st->schema = b->schema;
	st->output = b->output;
	st->n_actions = b->n_actions;
	st->max_depth = b->max_depth;
	if (fragml_kmem_fd_bytes(fd, &st->map_bytes))
		st->map_bytes = 0;	/* kernel without memlock in fdinfo */
	for (unsigned int a = 0; a < b->n_actions && a < FRAGML_MAX_ACTIONS; a++) {
		__u32 k = FRAGML_COUNTER_INDEX(hook, b->counter_row % FRAGML_COUNTER_ROWS, a);

		if (!bpf_map_lookup_elem(h->counters_fd, &k, vals))
			for (int c = 0; c < ncpu; c++)
				st->decisions[a] += vals[c];
		k = FRAGML_SHADOW_INDEX(hook, a);
		if (!bpf_map_lookup_elem(h->shadow_fd, &k, vals))
			for (int c = 0; c < ncpu; c++)
				st->shadow[a] += vals[c];
	}
out:
	if (fd >= 0)
		close(fd);
	free(b);
	free(m);
	free(vals);
	return ret;
}

int fragml_running_mode(struct fragml_handle *h, uint32_t *mode, uint32_t *schema,
			struct fragml_err *err)
{
	struct fragml_info fi;
	int ret = read_info(h, &fi, err);

	if (ret)
		return ret;
	*mode = fi.mode;
	*schema = fi.schema;
	return 0;
}

int fragml_attached_programs(struct fragml_handle *h, char names[][64], int max,
			     struct fragml_err *err)
{
	char links[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int n = 0;

	fragml_path_join(links, h->dir, "links");
	d = opendir(links);
	if (!d)
		return errno == ENOENT ? 0 : fragml_err_set(err, -errno, "%s: %s", links, strerror(errno));
	while ((e = readdir(d)) && n < max)
		if (e->d_name[0] != '.')
			snprintf(names[n++], 64, "%s", e->d_name);
	closedir(d);
	return n;
}

/*
 * The same batch through the raw_tp program: what a hook does, compiled form
 * first.  A program run makes at most 33 tail calls (MAX_TAIL_CALL_CNT; a
 * hook makes one decision per run), so the batch goes in runs of
 * FRAGML_RT_CHUNK vectors; elapsed_ns sums the time measured inside each run.
 */
#define FRAGML_RT_CHUNK	32
static int run_batch_rt(struct fragml_handle *h, struct fragml_test_ctx *ctx, struct fragml_err *err)
{
	__u64 args[FRAGML_RT_NARGS] = {
		[FRAGML_RT_HOOK] = ctx->hook, [FRAGML_RT_REPEAT] = 1,
		[FRAGML_RT_FLAGS] = ctx->flags |
				    (h->evaluator == FRAGML_EVAL_COMPILED ? FRAGML_TEST_F_COMPILED : 0),
	};
	LIBBPF_OPTS(bpf_test_run_opts, topts, .ctx_in = args, .ctx_size_in = sizeof(args));
	int pfd = bpf_program__fd(h->core->progs.fragml_test_batch_rt);
	int sfd = bpf_map__fd(h->core->maps.fragml_test_stat);
	unsigned int repeat = ctx->repeat ? ctx->repeat : 1;
	__u32 zero = 0;

	if (!ctx->count || ctx->count > FRAGML_TEST_VECS || ctx->first >= FRAGML_TEST_VECS ||
	    ctx->first + ctx->count > FRAGML_TEST_VECS)
		return fragml_err_set(err, -EINVAL, "fragml_test_batch_rt: vectors %u..%u out of 0..%d",
				      ctx->first, ctx->first + ctx->count, FRAGML_TEST_VECS);
	ctx->evaluated = 0;
	ctx->elapsed_ns = 0;
	for (unsigned int r = 0; r < repeat; r++) {
		for (unsigned int i = 0; i < ctx->count; i += FRAGML_RT_CHUNK) {
			struct fragml_test_stat st = { 0 };
			int ret;

			args[FRAGML_RT_FIRST] = ctx->first + i;
			args[FRAGML_RT_COUNT] = ctx->count - i < FRAGML_RT_CHUNK ? ctx->count - i : FRAGML_RT_CHUNK;
			ret = bpf_prog_test_run_opts(pfd, &topts);
			if (ret)
				return fragml_err_set(err, ret, "fragml_test_batch_rt: test run failed: %s",
						      strerror(-ret));
			if (bpf_map_lookup_elem(sfd, &zero, &st))
				return fragml_err_set(err, -errno, "fragml_test_stat: lookup failed: %s",
						      strerror(errno));
			if (st.ret)
				return fragml_err_set(err, st.ret, "fragml_test_batch_rt: program refused the batch: %s",
						      strerror(-st.ret));
			ctx->evaluated += st.evaluated;
			ctx->elapsed_ns += st.elapsed_ns;
			h->last_compiled += st.compiled;
		}
	}
	return 0;
}

static int run_batch(struct fragml_handle *h, struct fragml_test_ctx *ctx, struct fragml_err *err)
{
	LIBBPF_OPTS(bpf_test_run_opts, topts, .ctx_in = ctx, .ctx_size_in = sizeof(*ctx));
	int ret;

	h->last_compiled = 0;
	if (!h->test_run)
		return fragml_err_set(err, -ENOTSUP,
				      "kernel evaluation: this handle was opened without the test-run programs (fragml_open_opts.test_run)");
	if (h->evaluator != FRAGML_EVAL_MAP)
		return run_batch_rt(h, ctx, err);
	ret = bpf_prog_test_run_opts(bpf_program__fd(h->core->progs.fragml_eval_batch), &topts);

	if (ret)
		return fragml_err_set(err, ret, "fragml_eval_batch: test run failed: %s", strerror(-ret));
	if (topts.retval)
		return fragml_err_set(err, (int)topts.retval, "fragml_eval_batch: program refused the batch: %s",
				      strerror(-(int)topts.retval));
	return 0;
}

static int put_vectors(struct fragml_handle *h, const struct fragml_vec *vecs, unsigned int n,
		       struct fragml_err *err)
{
	int fd = bpf_map__fd(h->core->maps.fragml_test_vecs);

	if (n == 0 || n > FRAGML_TEST_VECS)
		return fragml_err_set(err, -E2BIG, "kernel eval: %u vectors (1..%d per call)", n,
				      FRAGML_TEST_VECS);
	for (__u32 i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, &i, &vecs[i], BPF_ANY))
			return fragml_err_set(err, -errno, "fragml_test_vecs: update failed: %s",
					      strerror(errno));
	return 0;
}

int fragml_kernel_eval(struct fragml_handle *h, unsigned int hook, const struct fragml_vec *vecs,
		       unsigned int n, struct fragml_result *out, bool count, struct fragml_err *err)
{
	struct fragml_test_ctx ctx = { .hook = hook, .count = n, .repeat = 1,
				       .flags = count ? FRAGML_TEST_F_COUNT : 0 };
	int fd = bpf_map__fd(h->core->maps.fragml_test_out);
	int ret = put_vectors(h, vecs, n, err);

	if (ret)
		return ret;
	ret = run_batch(h, &ctx, err);
	if (ret)
		return ret;
	for (__u32 i = 0; i < n; i++)
		if (bpf_map_lookup_elem(fd, &i, &out[i]))
			return fragml_err_set(err, -errno, "fragml_test_out: lookup failed: %s",
					      strerror(errno));
	return (int)ctx.evaluated;
}

int fragml_kernel_bench(struct fragml_handle *h, unsigned int hook, const struct fragml_vec *vecs,
			unsigned int n, unsigned int repeat, unsigned int flags, uint64_t *ns,
			struct fragml_err *err)
{
	struct fragml_test_ctx ctx = { .hook = hook, .count = n, .repeat = repeat,
				       .flags = FRAGML_TEST_F_NORESULT |
						(flags & (FRAGML_TEST_F_COUNT | FRAGML_TEST_F_EMPTY)) };
	int ret = put_vectors(h, vecs, n, err);

	if (ret)
		return ret;
	ret = run_batch(h, &ctx, err);
	if (ret)
		return ret;
	*ns = ctx.elapsed_ns;
	return (int)ctx.evaluated;
}

int fragml_set_evaluator(struct fragml_handle *h, unsigned int evaluator)
{
	if (evaluator > FRAGML_EVAL_MAP_RT)
		return -EINVAL;
	h->evaluator = evaluator;
	return 0;
}

uint32_t fragml_kernel_compiled_decisions(const struct fragml_handle *h)
{
	return h->last_compiled;
}

int fragml_detach(const struct fragml_open_opts *opts, struct fragml_err *err)
{
	char dir[PATH_MAX];
	int ret;

	if (geteuid() != 0)
		return fragml_err_set(err, -EPERM, "needs root to detach BPF programs: run as root");
	if (fragml_pin_dir_of(opts ? opts->bpffs : NULL, dir, sizeof(dir)))
		return fragml_err_set(err, -ENAMETOOLONG, "path too long");
	if (access(dir, F_OK))
		return 0;
	ret = fragml_guard_remove(opts, err);	/* refused unless this is one of fragml's tools */
	if (ret)
		return ret;
	if (!opts || !opts->bpffs) {
		ret = fragml_policy_detach(err);
		if (ret)
			return ret;
	}
	ret = fragml_unpin_tree(dir);
	if (ret)
		return fragml_err_set(err, ret, "%s: cannot remove pins: %s", dir, strerror(-ret));
	return 0;
}

/* ---- the site lifetime table (docs/trainer.md "Site table") ---- */

static int site_life_fd(struct fragml_handle *h, struct bpf_map_info *info, struct fragml_err *err)
{
	char p[PATH_MAX + 32];
	__u32 len = sizeof(*info);
	int fd;

	snprintf(p, sizeof(p), "%s/fragml_site_life", h->dir);
	fd = bpf_obj_get(p);
	if (fd < 0)
		return fragml_err_set(err, -errno, "%s: %s (the observe programs are not loaded, or predate the site table)",
				      p, strerror(errno));
	memset(info, 0, sizeof(*info));
	if (bpf_map_get_info_by_fd(fd, info, &len) || info->key_size != sizeof(__u64) ||
	    info->value_size != sizeof(struct fragml_site_life)) {
		close(fd);
		return fragml_err_set(err, -EPROTO, "%s: not a site lifetime table of this fragml (key %u, value %u bytes)",
				      p, info->key_size, info->value_size);
	}
	return fd;
}

int fragml_site_table_publish(struct fragml_handle *h, const struct fragml_site_counts *t,
			      struct fragml_err *err)
{
	struct bpf_map_info info;
	int fd = site_life_fd(h, &info, err);

	if (fd < 0)
		return fd;
	if (t->n > info.max_entries) {
		close(fd);
		return fragml_err_set(err, -E2BIG, "site table: %zu sites, the kernel's fragml_site_life holds %u",
				      t->n, info.max_entries);
	}
	site_want_set(h, true);
	for (size_t i = 0; i < t->n; i++) {
		struct fragml_site_life v = {
			.allocs = t->e[i].allocs, .long_cnt = t->e[i].long_cnt,
			.short_cnt = t->e[i].short_cnt, .flags = FRAGML_SITE_F_TRAINED,
		};

		if (bpf_map_update_elem(fd, &t->e[i].site, &v, BPF_ANY)) {
			int e = -errno;

			close(fd);
			return fragml_err_set(err, e, "fragml_site_life: update of site %016llx failed after %zu of %zu: %s",
					      (unsigned long long)t->e[i].site, i, t->n, strerror(-e));
		}
	}
	close(fd);
	return (int)t->n;
}

int fragml_site_table_stat(struct fragml_handle *h, uint32_t *n, uint32_t *trained,
			   uint32_t *paths, uint32_t *max_entries)
{
	struct bpf_map_info info;
	struct fragml_site_life v;
	__u64 k, nk, *kp = NULL;
	int fd = site_life_fd(h, &info, NULL);

	*n = *trained = *paths = 0;
	if (fd < 0)
		return -1;
	*max_entries = info.max_entries;
	for (; !bpf_map_get_next_key(fd, kp, &nk); kp = &k) {
		k = nk;
		if (bpf_map_lookup_elem(fd, &k, &v))
			continue;
		if (v.flags & FRAGML_SITE_F_PATH) {
			(*paths)++;
			continue;
		}
		(*n)++;
		*trained += !!(v.flags & FRAGML_SITE_F_TRAINED);
	}
	close(fd);
	return 0;
}
