// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * model.bin: parse, validate, serialize and evaluate (the reference evaluator).
 * docs/model-format.md is the byte-level specification of what is read here.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "fragml_model.h"

#define CRC_OFF 20

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void put16(uint8_t *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }
static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24;
}

size_t fragml_model_file_size(const struct fragml_model *m)
{
	return FRAGML_HDR_SIZE + 4u * m->n_trees + 8u * m->n_nodes;
}

static uint32_t file_crc(const uint8_t *buf, size_t len)
{
	static const uint8_t zero[4];
	uLong c = crc32(0L, Z_NULL, 0);

	c = crc32(c, buf, CRC_OFF);
	c = crc32(c, zero, 4);
	c = crc32(c, buf + CRC_OFF + 4, (uInt)(len - CRC_OFF - 4));
	return (uint32_t)c;
}

/* ---- names ---- */
static const char *const hook_names[FRAGML_NR_HOOKS] = {
	[FRAGML_HOOK_LIFETIME] = "lifetime",
	[FRAGML_HOOK_THP_FAULT] = "thp_fault",
	[FRAGML_HOOK_COMPACTION] = "compaction",
	[FRAGML_HOOK_FALLBACK] = "fallback",
	[FRAGML_HOOK_PLACEMENT] = "placement",
};
static const char *const action_names[FRAGML_NR_HOOKS][FRAGML_MAX_ACTIONS] = {
	[FRAGML_HOOK_LIFETIME] = { "short", "long" },
	[FRAGML_HOOK_THP_FAULT] = { "decline", "no_compact", "compact", "default" },
	[FRAGML_HOOK_COMPACTION] = { "skip", "run" },
	[FRAGML_HOOK_FALLBACK] = { "fallback", "defer", "compact" },
	[FRAGML_HOOK_PLACEMENT] = { "default", "claim", "skip", "steal" },
};

const char *fragml_hook_name(unsigned int hook)
{
	return hook < FRAGML_NR_HOOKS ? hook_names[hook] : NULL;
}

static const char *const class_names[FRAGML_NR_CLASSES] = {
	[FRAGML_CLASS_ANON]	 = "anon",
	[FRAGML_CLASS_PAGECACHE] = "pagecache",
	[FRAGML_CLASS_SLAB]	 = "slab",
	[FRAGML_CLASS_PAGETABLE] = "pagetable",
	[FRAGML_CLASS_KSTACK]	 = "kstack",
	[FRAGML_CLASS_NET]	 = "net",
	[FRAGML_CLASS_PIPE]	 = "pipe",
	[FRAGML_CLASS_KERNEL]	 = "kernel",
};

const char *fragml_class_name(unsigned int cls)
{
	return cls < FRAGML_NR_CLASSES ? class_names[cls] : NULL;
}

int fragml_class_from_name(const char *name)
{
	for (unsigned int i = 0; i < FRAGML_NR_CLASSES; i++)
		if (!strcmp(name, class_names[i]))
			return (int)i;
	return -EINVAL;
}

int fragml_hook_from_name(const char *name)
{
	for (unsigned int i = 0; i < FRAGML_NR_HOOKS; i++)
		if (!strcmp(name, hook_names[i]))
			return (int)i;
	return -EINVAL;
}

unsigned int fragml_hook_n_actions(unsigned int hook)
{
	unsigned int n = 0;

	if (hook >= FRAGML_NR_HOOKS)
		return 0;
	while (n < FRAGML_MAX_ACTIONS && action_names[hook][n])
		n++;
	return n;
}

const char *fragml_action_name(unsigned int hook, unsigned int action)
{
	if (hook >= FRAGML_NR_HOOKS || action >= FRAGML_MAX_ACTIONS)
		return NULL;
	return action_names[hook][action];
}

/* ---- feature registry ---- */
static const struct fragml_feature_desc features[] = {
#define X(id, e, n, u, s, o, f, d) { id, n, u, s, (o) | (f), o, f, d },
	FRAGML_FEATURES(X)
#undef X
};
#define NFEATURES (sizeof(features) / sizeof(features[0]))

const struct fragml_feature_desc *fragml_feature_at(unsigned int i)
{
	return i < NFEATURES ? &features[i] : NULL;
}

const struct fragml_feature_desc *fragml_feature_by_id(int id)
{
	for (size_t i = 0; i < NFEATURES; i++)
		if (features[i].id == id)
			return &features[i];
	return NULL;
}

const struct fragml_feature_desc *fragml_feature_by_name(const char *name)
{
	for (size_t i = 0; i < NFEATURES; i++)
		if (!strcmp(features[i].name, name))
			return &features[i];
	return NULL;
}

const char *fragml_mode_name(unsigned int mode)
{
	return mode == FRAGML_MODE_ENFORCE ? "enforce" : mode == FRAGML_MODE_OBSERVE ? "observe" : NULL;
}

/* The registry column that holds `hook`'s features in `mode`, as a hook mask
 * to test against: 0 when nothing evaluates the hook in that mode. */
static unsigned int mode_column(const struct fragml_feature_desc *d, unsigned int hook,
				unsigned int mode)
{
	if (mode == FRAGML_MODE_ENFORCE && (FRAGML_ENFORCE_HOOKS & FRAGML_HOOKBIT(hook)))
		return d->enf;
	if (FRAGML_OBSERVE_HOOKS & FRAGML_HOOKBIT(hook))
		return d->obs;
	return 0;
}

bool fragml_hook_evaluated(unsigned int hook, unsigned int mode)
{
	unsigned int hooks = mode == FRAGML_MODE_ENFORCE ? FRAGML_ENFORCE_HOOKS | FRAGML_OBSERVE_HOOKS :
							   FRAGML_OBSERVE_HOOKS;

	return hook < FRAGML_NR_HOOKS && (hooks & FRAGML_HOOKBIT(hook));
}

bool fragml_feature_computed(const struct fragml_feature_desc *d, unsigned int hook,
			     unsigned int mode)
{
	return d && hook < FRAGML_NR_HOOKS && (mode_column(d, hook, mode) & FRAGML_HOOKBIT(hook));
}

uint64_t fragml_hook_mode_features(unsigned int hook, unsigned int mode)
{
	uint64_t m = 0;

	for (size_t i = 0; i < NFEATURES; i++)
		if (fragml_feature_computed(&features[i], hook, mode))
			m |= 1ull << features[i].id;
	return m;
}

int fragml_model_check_mode(const struct fragml_model *m, unsigned int mode, struct fragml_err *err)
{
	unsigned int other = mode == FRAGML_MODE_ENFORCE ? FRAGML_MODE_OBSERVE : FRAGML_MODE_ENFORCE;

	if (!fragml_hook_evaluated(m->hook, mode))
		return fragml_err_set(err, -EOPNOTSUPP,
				      "model: hook %s is decided only in enforce mode (the patched kernel's struct_ops policy) and fragml runs in %s mode: load it where the policy is attached",
				      fragml_hook_name(m->hook), fragml_mode_name(mode));
	for (unsigned int i = 0; i < m->n_nodes; i++) {
		const struct fragml_node *n = &m->nodes[i];
		const struct fragml_feature_desc *d;

		if (n->info & FRAGML_NODE_LEAF)
			continue;
		d = fragml_feature_by_id(n->info & FRAGML_NODE_FEAT_MASK);
		if (!d || fragml_feature_computed(d, m->hook, mode))
			continue;
		if (fragml_feature_computed(d, m->hook, other))
			return fragml_err_set(err, -EINVAL,
					      "model: feature %s is computed at hook %s only in %s mode and fragml runs in %s mode: retrain with 'fragml-train --mode %s' (docs/features.md)",
					      d->name, fragml_hook_name(m->hook), fragml_mode_name(other),
					      fragml_mode_name(mode), fragml_mode_name(mode));
		return fragml_err_set(err, -EINVAL,
				      "model: feature %s is computed at hook %s in no mode: retrain without it (docs/features.md)",
				      d->name, fragml_hook_name(m->hook));
	}
	return 0;
}

/* ---- fixed point ---- */
int32_t fragml_fixed_from_double(double v)
{
	double s = nearbyint(v * (double)(1 << FRAGML_LEAF_SHIFT));

	if (s > FRAGML_LEAF_MAX)
		return FRAGML_LEAF_MAX;
	if (s < -FRAGML_LEAF_MAX)
		return -FRAGML_LEAF_MAX;
	return (int32_t)s;
}

double fragml_fixed_to_double(int64_t v)
{
	return (double)v / (double)(1 << FRAGML_LEAF_SHIFT);
}

/* ---- validation ---- */

/*
 * Depth-first walk from each root with an explicit stack; `state` marks nodes
 * on the current path (cycle) and nodes finished (reachable).  Children of a
 * split node are `left` and `left + 1`.
 */
static int check_trees(struct fragml_model *m, const char *what, struct fragml_err *err)
{
	uint8_t state[FRAGML_MAX_NODES];	/* 0 unseen, 1 on path, 2 done */
	uint16_t stack[FRAGML_MAX_DEPTH + 2];
	uint8_t next_child[FRAGML_MAX_DEPTH + 2];
	unsigned int maxd = 0;

	memset(state, 0, sizeof(state));
	for (unsigned int t = 0; t < m->n_trees; t++) {
		unsigned int root = m->trees[t].root;
		int sp = 0;

		if (root >= m->n_nodes)
			return fragml_err_set(err, -EINVAL, "%s: tree %u: root %u out of range (n_nodes %u)",
					      what, t, root, m->n_nodes);
		if (state[root] == 2)
			return fragml_err_set(err, -EINVAL, "%s: tree %u: root %u is shared with another tree",
					      what, t, root);
		stack[0] = (uint16_t)root;
		next_child[0] = 0;
		state[root] = 1;
		while (sp >= 0) {
			const struct fragml_node *n = &m->nodes[stack[sp]];
			unsigned int c;

			if ((n->info & FRAGML_NODE_LEAF) || next_child[sp] == 2) {
				if ((n->info & FRAGML_NODE_LEAF) && (unsigned int)sp > maxd)
					maxd = (unsigned int)sp;
				state[stack[sp]] = 2;
				sp--;
				continue;
			}
			c = (unsigned int)n->left + next_child[sp]++;
			if (state[c] == 1)
				return fragml_err_set(err, -EINVAL, "%s: node %u: child %u leads back to an ancestor (cycle)",
						      what, stack[sp], c);
			if (state[c] == 2)
				return fragml_err_set(err, -EINVAL, "%s: node %u: child %u has two parents",
						      what, stack[sp], c);
			if (sp + 1 > FRAGML_MAX_DEPTH)
				return fragml_err_set(err, -E2BIG, "%s: tree %u: depth exceeds the limit %d",
						      what, t, FRAGML_MAX_DEPTH);
			sp++;
			stack[sp] = (uint16_t)c;
			next_child[sp] = 0;
			state[c] = 1;
		}
	}
	for (unsigned int i = 0; i < m->n_nodes; i++)
		if (state[i] != 2)
			return fragml_err_set(err, -EINVAL, "%s: node %u is not reachable from any tree root",
					      what, i);
	m->max_depth = (uint8_t)maxd;
	return 0;
}

int fragml_model_validate(struct fragml_model *m, const char *what, struct fragml_err *err)
{
	unsigned int need;

	if (!what)
		what = "model";
	if (m->hook >= FRAGML_NR_HOOKS)
		return fragml_err_set(err, -EINVAL, "%s: hook kind %u unknown (0..%d)", what, m->hook,
				      FRAGML_NR_HOOKS - 1);
	need = fragml_hook_n_actions(m->hook);
	if (m->output > FRAGML_OUT_ARGMAX)
		return fragml_err_set(err, -EINVAL, "%s: output kind %u unknown (0 ordinal, 1 argmax)",
				      what, m->output);
	if (m->n_actions < 2 || m->n_actions > need)
		return fragml_err_set(err, -EINVAL, "%s: n_actions %u invalid for hook %s (2..%u)",
				      what, m->n_actions, fragml_hook_name(m->hook), need);
	if (m->n_trees == 0)
		return fragml_err_set(err, -EINVAL, "%s: zero trees (at least 1 needed)", what);
	if (m->n_trees > FRAGML_MAX_TREES)
		return fragml_err_set(err, -E2BIG, "%s: %u trees exceed the limit %d", what, m->n_trees,
				      FRAGML_MAX_TREES);
	if (m->n_nodes == 0 || m->n_nodes > FRAGML_MAX_NODES)
		return fragml_err_set(err, -E2BIG, "%s: %u nodes outside the limit 1..%d", what,
				      m->n_nodes, FRAGML_MAX_NODES);
	for (unsigned int a = 0; a < FRAGML_MAX_ACTIONS; a++)
		if (m->base[a] > FRAGML_LEAF_MAX || m->base[a] < -FRAGML_LEAF_MAX ||
		    ((a >= m->n_actions || m->output == FRAGML_OUT_ORDINAL) && a > 0 && m->base[a]))
			return fragml_err_set(err, -EINVAL, "%s: base_score[%u] %d out of range or unused but non-zero",
					      what, a, m->base[a]);
	for (unsigned int a = 0; a + 1 < FRAGML_MAX_ACTIONS; a++) {
		int used = m->output == FRAGML_OUT_ORDINAL && a + 1 < m->n_actions;

		if (!used && m->thresholds[a])
			return fragml_err_set(err, -EINVAL, "%s: threshold[%u] unused but non-zero", what, a);
		if (used && a > 0 && m->thresholds[a] < m->thresholds[a - 1])
			return fragml_err_set(err, -EINVAL, "%s: thresholds not ascending at [%u]", what, a);
	}
	for (unsigned int t = 0; t < m->n_trees; t++) {
		if (m->trees[t].reserved)
			return fragml_err_set(err, -EINVAL, "%s: tree %u: reserved byte not zero", what, t);
		if (m->trees[t].cls >= (m->output == FRAGML_OUT_ARGMAX ? m->n_actions : 1))
			return fragml_err_set(err, -EINVAL, "%s: tree %u: class %u out of range", what, t,
					      m->trees[t].cls);
	}
	for (unsigned int i = 0; i < m->n_nodes; i++) {
		const struct fragml_node *n = &m->nodes[i];

		if (n->info & FRAGML_NODE_LEAF) {
			if (n->info != FRAGML_NODE_LEAF || n->left)
				return fragml_err_set(err, -EINVAL, "%s: node %u: leaf with non-zero feature/flags/child",
						      what, i);
			if (n->value > FRAGML_LEAF_MAX || n->value < -FRAGML_LEAF_MAX)
				return fragml_err_set(err, -EINVAL, "%s: node %u: leaf value %d beyond +-%d",
						      what, i, n->value, FRAGML_LEAF_MAX);
			continue;
		}
		if (n->info & ~(FRAGML_NODE_FEAT_MASK | FRAGML_NODE_DEFAULT_LEFT))
			return fragml_err_set(err, -EINVAL, "%s: node %u: reserved flag bits set (0x%04x)",
					      what, i, n->info);
		unsigned int f = n->info & FRAGML_NODE_FEAT_MASK;
		const struct fragml_feature_desc *d = fragml_feature_by_id((int)f);

		if (f >= FRAGML_MAX_FEATURES || !d)
			return fragml_err_set(err, -EINVAL, "%s: node %u: unknown feature id %u (schema %d)",
					      what, i, f, FRAGML_SCHEMA_VERSION);
		if (!(d->hooks & FRAGML_HOOKBIT(m->hook)))
			return fragml_err_set(err, -EINVAL, "%s: node %u: feature %s is not computed at hook %s",
					      what, i, d->name, fragml_hook_name(m->hook));
		if ((unsigned int)n->left + 1 >= m->n_nodes)
			return fragml_err_set(err, -EINVAL, "%s: node %u: child %u out of range (n_nodes %u)",
					      what, i, n->left + 1u, m->n_nodes);
	}
	return check_trees(m, what, err);
}

int fragml_model_parse(struct fragml_model *m, const void *buf, size_t len,
		       const char *what, struct fragml_err *err)
{
	const uint8_t *p = buf;
	size_t want;

	if (!what)
		what = "model";
	if (len < FRAGML_HDR_SIZE)
		return fragml_err_set(err, -EINVAL, "%s: truncated: %zu bytes, header needs %d", what, len,
				      FRAGML_HDR_SIZE);
	if (get32(p) != FRAGML_MODEL_MAGIC)
		return fragml_err_set(err, -EINVAL, "%s: bad magic 0x%08x (want 0x%08x \"FRGM\"): not a fragml model",
				      what, get32(p), FRAGML_MODEL_MAGIC);
	if (get16(p + 4) != FRAGML_FORMAT_VERSION)
		return fragml_err_set(err, -EPROTO, "%s: format version %u unsupported (this build reads %d)",
				      what, get16(p + 4), FRAGML_FORMAT_VERSION);
	if (get16(p + 6) != FRAGML_HDR_SIZE)
		return fragml_err_set(err, -EINVAL, "%s: header_size %u, want %d", what, get16(p + 6),
				      FRAGML_HDR_SIZE);
	memset(m, 0, sizeof(*m));
	m->hook = p[8];
	m->output = p[9];
	m->n_actions = p[10];
	m->schema = get16(p + 12);
	m->n_trees = get16(p + 14);
	m->n_nodes = get16(p + 16);
	if (m->n_trees > FRAGML_MAX_TREES)
		return fragml_err_set(err, -E2BIG, "%s: %u trees exceed the limit %d", what, m->n_trees,
				      FRAGML_MAX_TREES);
	if (m->n_nodes > FRAGML_MAX_NODES)
		return fragml_err_set(err, -E2BIG, "%s: %u nodes exceed the limit %d", what, m->n_nodes,
				      FRAGML_MAX_NODES);
	want = fragml_model_file_size(m);
	if (len != want)
		return fragml_err_set(err, -EINVAL, "%s: %s: %zu bytes, header says %zu (%u trees, %u nodes)",
				      what, len < want ? "truncated" : "trailing bytes", len, want,
				      m->n_trees, m->n_nodes);
	if (get32(p + CRC_OFF) != file_crc(p, len))
		return fragml_err_set(err, -EBADMSG, "%s: bad checksum: crc32 0x%08x stored, 0x%08x computed",
				      what, get32(p + CRC_OFF), file_crc(p, len));
	if (get16(p + 18))
		return fragml_err_set(err, -EINVAL, "%s: flags 0x%04x: no flags are defined", what,
				      get16(p + 18));
	for (unsigned int i = 84; i < FRAGML_HDR_SIZE; i++)
		if (p[i])
			return fragml_err_set(err, -EINVAL, "%s: reserved header byte %u not zero", what, i);
	for (unsigned int a = 0; a < FRAGML_MAX_ACTIONS; a++)
		m->base[a] = (int32_t)get32(p + 24 + 4 * a);
	for (unsigned int a = 0; a + 1 < FRAGML_MAX_ACTIONS; a++)
		m->thresholds[a] = (int32_t)get32(p + 56 + 4 * a);
	p += FRAGML_HDR_SIZE;
	for (unsigned int t = 0; t < m->n_trees; t++, p += 4) {
		m->trees[t].root = get16(p);
		m->trees[t].cls = p[2];
		m->trees[t].reserved = p[3];
	}
	for (unsigned int i = 0; i < m->n_nodes; i++, p += 8) {
		m->nodes[i].info = get16(p);
		m->nodes[i].left = get16(p + 2);
		m->nodes[i].value = (int32_t)get32(p + 4);
	}
	if (fragml_model_validate(m, what, err))
		return err ? err->code : -EINVAL;
	if (((const uint8_t *)buf)[11] != m->max_depth)
		return fragml_err_set(err, -EINVAL, "%s: header max_depth %u, trees have depth %u", what,
				      ((const uint8_t *)buf)[11], m->max_depth);
	m->crc32 = get32((const uint8_t *)buf + CRC_OFF);
	return 0;
}

int fragml_model_read_file(struct fragml_model *m, const char *path, struct fragml_err *err)
{
	size_t cap = fragml_model_file_size(&(struct fragml_model){ .n_trees = FRAGML_MAX_TREES,
								     .n_nodes = FRAGML_MAX_NODES }) + 1;
	struct stat st;
	uint8_t *buf;
	ssize_t n = 0;
	size_t len = 0;
	int fd, ret;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then
	 * refuses anything but a regular file (FIFO, device, directory). */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return fragml_err_set(err, -errno, "%s: cannot open: %s", path, strerror(errno));
	if (fstat(fd, &st)) {
		ret = errno;
		close(fd);
		return fragml_err_set(err, -ret, "%s: cannot stat: %s", path, strerror(ret));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return fragml_err_set(err, -EINVAL, "%s: not a regular file (%s): a model is read from a file",
				      path, S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISDIR(st.st_mode) ? "a directory" :
				      S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device" :
				      S_ISSOCK(st.st_mode) ? "a socket" : "special");
	}
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return fragml_err_set(err, -ENOMEM, "%s: out of memory", path);
	}
	while (len < cap && (n = read(fd, buf + len, cap - len)) > 0)
		len += (size_t)n;
	ret = -errno;
	close(fd);
	if (n < 0) {
		free(buf);
		return fragml_err_set(err, ret, "%s: read failed: %s", path, strerror(-ret));
	}
	if (len == cap) {
		free(buf);
		return fragml_err_set(err, -E2BIG, "%s: larger than the largest valid model (%zu bytes)",
				      path, cap - 1);
	}
	ret = fragml_model_parse(m, buf, len, path, err);
	free(buf);
	return ret;
}

int fragml_model_serialize(struct fragml_model *m, void *out, size_t cap, struct fragml_err *err)
{
	uint8_t *p = out, *b = out;
	size_t len;

	if (fragml_model_validate(m, "model", err))
		return err ? err->code : -EINVAL;
	len = fragml_model_file_size(m);
	if (cap < len)
		return fragml_err_set(err, -ENOSPC, "model: needs %zu bytes, buffer has %zu", len, cap);
	memset(p, 0, FRAGML_HDR_SIZE);
	put32(p, FRAGML_MODEL_MAGIC);
	put16(p + 4, FRAGML_FORMAT_VERSION);
	put16(p + 6, FRAGML_HDR_SIZE);
	p[8] = m->hook;
	p[9] = m->output;
	p[10] = m->n_actions;
	p[11] = m->max_depth;
	put16(p + 12, m->schema);
	put16(p + 14, m->n_trees);
	put16(p + 16, m->n_nodes);
	for (unsigned int a = 0; a < FRAGML_MAX_ACTIONS; a++)
		put32(p + 24 + 4 * a, (uint32_t)m->base[a]);
	for (unsigned int a = 0; a + 1 < FRAGML_MAX_ACTIONS; a++)
		put32(p + 56 + 4 * a, (uint32_t)m->thresholds[a]);
	p += FRAGML_HDR_SIZE;
	for (unsigned int t = 0; t < m->n_trees; t++, p += 4) {
		put16(p, m->trees[t].root);
		p[2] = m->trees[t].cls;
		p[3] = 0;
	}
	for (unsigned int i = 0; i < m->n_nodes; i++, p += 8) {
		put16(p, m->nodes[i].info);
		put16(p + 2, m->nodes[i].left);
		put32(p + 4, (uint32_t)m->nodes[i].value);
	}
	m->crc32 = file_crc(b, len);
	put32(b + CRC_OFF, m->crc32);
	return (int)len;
}

int fragml_model_write_file(struct fragml_model *m, const char *path, struct fragml_err *err)
{
	size_t cap = fragml_model_file_size(m);
	char tmp[PATH_MAX];
	uint8_t *buf;
	FILE *f;
	int len, ret = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return fragml_err_set(err, -ENAMETOOLONG, "%s: path too long", path);
	buf = malloc(cap + FRAGML_HDR_SIZE);
	if (!buf)
		return fragml_err_set(err, -ENOMEM, "%s: out of memory", path);
	len = fragml_model_serialize(m, buf, cap + FRAGML_HDR_SIZE, err);
	if (len < 0) {
		free(buf);
		return len;
	}
	f = fopen(tmp, "wb");
	if (!f) {
		ret = fragml_err_set(err, -errno, "%s: cannot create: %s", tmp, strerror(errno));
		goto out;
	}
	if (fwrite(buf, 1, (size_t)len, f) != (size_t)len || fclose(f)) {
		ret = fragml_err_set(err, -EIO, "%s: write failed", tmp);
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path)) {
		ret = fragml_err_set(err, -errno, "%s: cannot rename into place: %s", path, strerror(errno));
		unlink(tmp);
	}
out:
	free(buf);
	return ret;
}

/* Action from the summed scores: ORDINAL counts thresholds reached, ARGMAX takes
 * the first highest class.  *best receives the score reported with it. */
static uint32_t decide(const struct fragml_model *m, const int64_t *scores, int64_t *best)
{
	uint32_t action = 0;

	*best = scores[0];
	if (m->output == FRAGML_OUT_ORDINAL) {
		for (unsigned int i = 0; i + 1 < m->n_actions; i++)
			if (scores[0] >= m->thresholds[i])
				action++;
	} else {
		for (unsigned int a = 1; a < m->n_actions; a++)
			if (scores[a] > *best) {
				*best = scores[a];
				action = a;
			}
	}
	return action;
}

uint32_t fragml_split_ukey(const struct fragml_node *n, uint32_t *bias)
{
	int32_t t = n->value;

	if (n->info & FRAGML_NODE_DEFAULT_LEFT) {
		/* u = x biased to unsigned order: a missing x is 0, below every key
		 * but that of t = INT32_MIN, which is moved up by one */
		*bias = 0x80000000u;
		return (uint32_t)(t == INT32_MIN ? INT32_MIN + 1 : t) ^ 0x80000000u;
	}
	/* u = x - 1 biased: x < t <=> u < t - 1, and a missing x wraps to the top */
	*bias = 0x7fffffffu;
	return (uint32_t)(t == INT32_MIN ? INT32_MIN : t - 1) ^ 0x80000000u;
}

/* ---- reference evaluator: keep in lockstep with bpf/fragml_eval.bpf.h ---- */
uint32_t fragml_model_eval(const struct fragml_model *m, const int32_t *feat,
			   struct fragml_eval_out *out)
{
	int64_t scores[FRAGML_MAX_ACTIONS];
	uint32_t action;
	int64_t best;

	for (unsigned int a = 0; a < FRAGML_MAX_ACTIONS; a++)
		scores[a] = m->base[a];
	for (unsigned int t = 0; t < m->n_trees; t++) {
		unsigned int idx = m->trees[t].root;

		for (;;) {
			const struct fragml_node *n = &m->nodes[idx];
			int32_t x;
			int left;

			if (n->info & FRAGML_NODE_LEAF) {
				scores[m->trees[t].cls] += n->value;
				break;
			}
			x = feat[n->info & FRAGML_NODE_FEAT_MASK];
			if (x == FRAGML_MISSING)
				left = !!(n->info & FRAGML_NODE_DEFAULT_LEFT);
			else
				left = x < n->value;
			idx = n->left + (left ? 0u : 1u);
		}
	}
	action = decide(m, scores, &best);
	if (out) {
		out->action = action;
		out->score = best;
		memcpy(out->scores, scores, sizeof(scores));
	}
	return action;
}

/*
 * The same walk, recording every split taken.  Written apart from
 * fragml_model_eval() on purpose: `fragml explain` prints both results and
 * its selftest checks that they agree.
 */
uint32_t fragml_model_explain(const struct fragml_model *m, const int32_t *feat,
			      struct fragml_explain *x)
{
	memset(x, 0, sizeof(*x));
	x->n_trees = m->n_trees;
	for (unsigned int a = 0; a < FRAGML_MAX_ACTIONS; a++)
		x->scores[a] = m->base[a];
	for (unsigned int t = 0; t < m->n_trees && t < FRAGML_MAX_TREES; t++) {
		struct fragml_explain_tree *et = &x->trees[t];
		unsigned int idx = m->trees[t].root;

		et->cls = m->trees[t].cls;
		while (!(m->nodes[idx].info & FRAGML_NODE_LEAF) && et->n_steps < FRAGML_MAX_DEPTH) {
			const struct fragml_node *n = &m->nodes[idx];
			struct fragml_explain_step *s = &et->steps[et->n_steps++];

			s->node = (uint16_t)idx;
			s->feature = n->info & FRAGML_NODE_FEAT_MASK;
			s->x = feat[s->feature];
			s->threshold = n->value;
			s->missing = s->x == FRAGML_MISSING;
			s->left = s->missing ? !!(n->info & FRAGML_NODE_DEFAULT_LEFT) : s->x < n->value;
			idx = n->left + (s->left ? 0u : 1u);
		}
		et->leaf = (uint16_t)idx;
		et->leaf_value = m->nodes[idx].value;
		x->scores[et->cls] += et->leaf_value;
	}
	x->action = decide(m, x->scores, &x->score);
	return x->action;
}
