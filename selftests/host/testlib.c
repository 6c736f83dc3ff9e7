// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "testlib.h"

uint64_t tl_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static int hook_features(unsigned int hook, int *ids)
{
	const struct fragml_feature_desc *d;
	int n = 0;

	/* what a trained model may use: the features computed in every mode
	 * that evaluates the hook (so it loads in observe and enforce mode) */
	for (unsigned int i = 0; (d = fragml_feature_at(i)); i++) {
		bool ok = true, any = false;

		for (unsigned int md = FRAGML_MODE_OBSERVE; md <= FRAGML_MODE_ENFORCE; md++)
			if (fragml_hook_evaluated(hook, md)) {
				any = true;
				ok = ok && fragml_feature_computed(d, hook, md);
			}
		if (any && ok)
			ids[n++] = d->id;
	}
	return n;
}

static const int32_t pool[] = { -5, 0, 1, 2, 3, 7, 9, 17, 100, 1024, 65536, FRAGML_FEAT_MAX };
#define POOL_N (int)(sizeof(pool) / sizeof(pool[0]))

void tl_random_model(struct fragml_model *m, unsigned int hook, unsigned int n_trees,
		     unsigned int depth, int argmax, uint64_t seed)
{
	int ids[FRAGML_MAX_FEATURES], nids = hook_features(hook, ids);
	uint64_t s = seed | 1;
	unsigned int next = 0;

	memset(m, 0, sizeof(*m));
	m->hook = (uint8_t)hook;
	m->schema = FRAGML_SCHEMA_VERSION;
	m->output = argmax ? FRAGML_OUT_ARGMAX : FRAGML_OUT_ORDINAL;
	m->n_actions = (uint8_t)fragml_hook_n_actions(hook);
	m->n_trees = (uint16_t)n_trees;
	for (unsigned int t = 0; t < n_trees; t++) {
		/* Breadth-first layout: children of node i are adjacent at `left`. */
		unsigned int first = next, count = 1;

		m->trees[t].root = (uint16_t)next;
		m->trees[t].cls = (uint8_t)(argmax ? t % m->n_actions : 0);
		for (unsigned int d = 0; d <= depth; d++) {
			for (unsigned int k = 0; k < count; k++) {
				struct fragml_node *n = &m->nodes[first + k];

				if (d == depth) {
					n->info = FRAGML_NODE_LEAF;
					n->left = 0;
					n->value = (int32_t)(tl_rand(&s) % 131072) - 65536;
					continue;
				}
				n->info = (uint16_t)ids[tl_rand(&s) % (uint64_t)nids];
				if (tl_rand(&s) & 1)
					n->info |= FRAGML_NODE_DEFAULT_LEFT;
				n->value = pool[tl_rand(&s) % POOL_N];
				n->left = (uint16_t)(first + count + 2 * k);
			}
			first += count;
			count *= 2;
		}
		next = first;
	}
	m->n_nodes = (uint16_t)next;
	for (unsigned int a = 0; a < FRAGML_MAX_ACTIONS; a++)
		m->base[a] = (!argmax && a) ? 0 : (a < m->n_actions ? (int32_t)(tl_rand(&s) % 8192) - 4096 : 0);
	if (!argmax)
		for (unsigned int i = 0; i + 1 < m->n_actions; i++)
			m->thresholds[i] = (int32_t)((i + 1) * 65536 / (int)m->n_actions) - 32768;
}

void tl_random_vecs(const struct fragml_model *m, struct fragml_vec *v, unsigned int n,
		    uint64_t *s)
{
	for (unsigned int i = 0; i < n; i++) {
		for (int f = 0; f < FRAGML_MAX_FEATURES; f++) {
			uint64_t r = tl_rand(s);
			int32_t x;

			switch (r % 8) {
			case 0: x = FRAGML_MISSING; break;
			case 1: x = 0; break;
			case 2: x = FRAGML_FEAT_MAX; break;
			case 3: x = FRAGML_FEAT_MIN; break;
			case 4: x = (int32_t)(r >> 8) % 200; break;
			default: {
				const struct fragml_node *nd = &m->nodes[(r >> 8) % m->n_nodes];

				x = (nd->info & FRAGML_NODE_LEAF) ? pool[(r >> 20) % POOL_N] : nd->value;
				x += (int32_t)((r >> 40) % 3) - 1;	/* t-1, t, t+1 */
			}
			}
			v[i].f[f] = x;
		}
	}
}

int tl_fallback_burst_mb(int margin_mb, int cap_mb)
{
	FILE *f = fopen("/proc/pagetypeinfo", "r");
	char line[512];
	long pages = 0, mb;

	while (f && fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "type    Unmovable");
		int o = 0;

		if (!p || strstr(line, "Number"))
			continue;
		p += strlen("type    Unmovable");
		for (char *tok = strtok(p, " \n"); tok && o < 11; tok = strtok(NULL, " \n"), o++)
			pages += atol(tok) << o;
	}
	if (f)
		fclose(f);
	mb = (f ? pages * 4 / 1024 : 512) + margin_mb;
	return mb > cap_mb ? cap_mb : (int)mb;
}

int tl_private_bpffs(char *dir, unsigned int len)
{
	snprintf(dir, len, "/tmp/fragml-bpffs-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	if (mount("bpf", dir, "bpf", 0, "mode=0700")) {
		rmdir(dir);
		return -1;
	}
	return 0;
}

void tl_release_bpffs(const char *dir)
{
	umount2(dir, MNT_DETACH);
	rmdir(dir);
}

/* The directory `up` levels above this test binary ("" if unknown). */
static void exe_up(char *out, unsigned int len, int up)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	out[0] = '\0';
	if (n <= 0)
		return;
	self[n] = '\0';
	for (int i = 0; i < up; i++) {
		char *slash = strrchr(self, '/');

		if (slash)
			*slash = '\0';
	}
	snprintf(out, len, "%s", self);
}

void tl_bindir(char *out, unsigned int len)
{
	char build[PATH_MAX];

	exe_up(build, sizeof(build), 3);	/* build/selftests/host/X -> build */
	snprintf(out, len, "%s/bin", build);
}

void tl_topdir(char *out, unsigned int len)
{
	exe_up(out, len, 4);			/* build/selftests/host/X -> the source tree */
}
