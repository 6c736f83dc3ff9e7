// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Compile a validated model into BPF instructions (docs/performance.md,
 * "Compiled evaluator").  Generated from the model's nodes only: every
 * instruction below is one of a fixed set of shapes whose operands are
 * feature offsets, thresholds and leaf values; nothing comes from the user.
 *
 * The program (R1 = the caller's context, unused):
 *   r6 = this CPU's struct fragml_cio (lookup; -1 without it)
 *   scores: r7 (ORDINAL), or one register per class (ARGMAX) = base (+ an opaque 0)
 *   per tree, depth first: per split
 *       w1 = v[f]; [w1 += bias]; if w1 <(u/s) key goto left; <right subtree>
 *     per leaf: score += value; goto end of tree
 *   action (r8) from the scores, exactly as fragml_model_eval() decides
 *   cio->r = { version, action, score }; counters[hook, row, action] += 1
 *   return action
 * Split semantics (docs/model-format.md): fragml_split_ukey()'s unsigned key
 * as the map evaluator uses it, or, when a missing value goes left, the plain
 * signed compare (the missing value INT32_MIN is below every threshold but
 * INT32_MIN itself, which the key form keeps).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "compile.h"

#define R0 BPF_REG_0
#define R1 BPF_REG_1
#define R2 BPF_REG_2
#define R6 BPF_REG_6
#define R7 BPF_REG_7
#define R8 BPF_REG_8
#define FP BPF_REG_10

#define SLOT(c)	(-16 - 8 * (int)(c))	/* ARGMAX score of class c, for the decision */

/* The score of class c during the walk (r1 is the walk's temporary, r6 the input). */
static const uint8_t score_reg[FRAGML_MAX_ACTIONS] = {
	BPF_REG_7, BPF_REG_8, BPF_REG_9, BPF_REG_0, BPF_REG_2, BPF_REG_3, BPF_REG_4, BPF_REG_5,
};

struct cg {
	struct bpf_insn *in;
	unsigned int n, cap;
	int oom;
	unsigned int *fix;	/* tree-end jumps to patch */
	unsigned int nfix, fixcap;
};

static unsigned int emit(struct cg *g, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	if (g->n == g->cap) {
		unsigned int cap = g->cap ? g->cap * 2 : 1024;
		struct bpf_insn *p = realloc(g->in, cap * sizeof(*p));

		if (!p) {
			g->oom = 1;
			return g->n;
		}
		g->in = p;
		g->cap = cap;
	}
	g->in[g->n] = (struct bpf_insn){ .code = code, .dst_reg = dst, .src_reg = src, .off = off,
					 .imm = imm };
	return g->n++;
}

static void emit_ld_map(struct cg *g, uint8_t dst, int fd)
{
	emit(g, BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_FD, 0, fd);
	emit(g, 0, 0, 0, 0, 0);
}

/* r0 = lookup(map fd, key at fp-4) */
static void emit_lookup(struct cg *g, int fd)
{
	emit(g, BPF_ALU64 | BPF_MOV | BPF_X, R2, FP, 0, 0);
	emit(g, BPF_ALU64 | BPF_ADD | BPF_K, R2, 0, 0, -4);
	emit_ld_map(g, R1, fd);
	emit(g, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem);
}

static void fix_push(struct cg *g, unsigned int at)
{
	if (g->nfix == g->fixcap) {
		unsigned int cap = g->fixcap ? g->fixcap * 2 : 256;
		unsigned int *p = realloc(g->fix, cap * sizeof(*p));

		if (!p) {
			g->oom = 1;
			return;
		}
		g->fix = p;
		g->fixcap = cap;
	}
	g->fix[g->nfix++] = at;
}

static void patch(struct cg *g, unsigned int at, unsigned int target)
{
	if (at < g->n)
		g->in[at].off = (int16_t)((int)target - (int)at - 1);
}

static void emit_leaf(struct cg *g, const struct fragml_model *m, unsigned int cls, int32_t value)
{
	if (!value)
		return;
	if (cls >= (m->output == FRAGML_OUT_ORDINAL ? 1u : m->n_actions))
		return;
	emit(g, BPF_ALU64 | BPF_ADD | BPF_K, score_reg[cls], 0, 0, value);
}

/* Depth first; a split's right subtree falls through, its left is jumped to. */
static void emit_node(struct cg *g, const struct fragml_model *m, unsigned int cls, unsigned int idx,
		      unsigned int depth)
{
	const struct fragml_node *n = &m->nodes[idx];
	unsigned int jl;

	if (g->oom)
		return;
	if ((n->info & FRAGML_NODE_LEAF) || depth > FRAGML_MAX_DEPTH) {
		emit_leaf(g, m, cls, n->value);
		fix_push(g, emit(g, BPF_JMP | BPF_JA, 0, 0, 0, 0));
		return;
	}
	emit(g, BPF_LDX | BPF_MEM | BPF_W, R1, R6,
	     (int16_t)(offsetof(struct fragml_cio, v.f) + 4 * (n->info & FRAGML_NODE_FEAT_MASK)), 0);
	if ((n->info & FRAGML_NODE_DEFAULT_LEFT) && n->value != INT32_MIN) {
		/* x < t signed; the missing INT32_MIN is below t: left, its default */
		jl = emit(g, BPF_JMP32 | BPF_JSLT | BPF_K, R1, 0, 0, n->value);
	} else {
		uint32_t bias, key = fragml_split_ukey(n, &bias);

		emit(g, BPF_ALU | BPF_ADD | BPF_K, R1, 0, 0, (int32_t)bias);
		jl = emit(g, BPF_JMP32 | BPF_JLT | BPF_K, R1, 0, 0, (int32_t)key);
	}
	emit_node(g, m, cls, n->left + 1u, depth + 1);
	patch(g, jl, g->n);
	emit_node(g, m, cls, n->left, depth + 1);
}

/*
 * Generate the program of model `m` as version `version`: *insns (malloc'd,
 * the caller frees) and *n instructions.  The model must have passed
 * fragml_model_parse() (or come from a blob read back from the kernel).
 */
static int fragml_compile(const struct fragml_model *m, uint32_t version, const struct fragml_cgen_target *t,
			  struct bpf_insn **insns, unsigned int *n, struct fragml_err *err)
{
	struct cg g = { 0 };
	unsigned int row = version % FRAGML_COUNTER_ROWS, na = m->n_actions;
	int ret = 0;

	*insns = NULL;
	*n = 0;
	if (m->hook >= FRAGML_NR_HOOKS || na < 1 || na > FRAGML_MAX_ACTIONS ||
	    m->n_trees > FRAGML_MAX_TREES || m->n_nodes > FRAGML_MAX_NODES)
		return fragml_err_set(err, -EINVAL, "compile: model not validated (hook %u, %u actions, %u trees)",
				      m->hook, na, m->n_trees);
	/* r6 = this CPU's input/output, or return -1 (the caller decides with the maps) */
	emit(&g, BPF_ST | BPF_MEM | BPF_W, FP, 0, -4, 0);
	emit_lookup(&g, t->cio_fd);
	emit(&g, BPF_JMP | BPF_JNE | BPF_K, R0, 0, 2, 0);
	emit(&g, BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, -1);
	emit(&g, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	emit(&g, BPF_ALU64 | BPF_MOV | BPF_X, R6, R0, 0, 0);
	/*
	 * Scores start from a zero the verifier cannot see (read back from the
	 * map value): were they constants, it would decide the final compares
	 * itself, need every tree's leaf exactly and explore every combination
	 * of leaves instead of pruning at each tree's end.
	 */
	emit(&g, BPF_ST | BPF_MEM | BPF_DW, R6, 0, (int16_t)offsetof(struct fragml_cio, r.score), 0);
	emit(&g, BPF_LDX | BPF_MEM | BPF_DW, R1, R6, (int16_t)offsetof(struct fragml_cio, r.score), 0);
	for (unsigned int c = 0; c < (m->output == FRAGML_OUT_ORDINAL ? 1u : na); c++) {
		emit(&g, BPF_ALU64 | BPF_MOV | BPF_X, score_reg[c], R1, 0, 0);
		emit(&g, BPF_ALU64 | BPF_ADD | BPF_K, score_reg[c], 0, 0, m->base[c]);
	}

	for (unsigned int tr = 0; tr < m->n_trees && !g.oom; tr++) {
		g.nfix = 0;
		emit_node(&g, m, m->trees[tr].cls, m->trees[tr].root, 0);
		/* the last leaf falls through to the tree's end */
		if (g.nfix && g.fix[g.nfix - 1] == g.n - 1) {
			g.n--;
			g.nfix--;
		}
		for (unsigned int i = 0; i < g.nfix; i++)
			patch(&g, g.fix[i], g.n);
		if (g.n > 1000000)
			break;
	}

	/* the decision: r8 = action, r7 = its score (ARGMAX: from the stack, r8 held class 1) */
	if (m->output == FRAGML_OUT_ORDINAL) {
		emit(&g, BPF_ALU64 | BPF_MOV | BPF_K, R8, 0, 0, 0);
		for (unsigned int i = 0; i + 1 < na; i++) {
			emit(&g, BPF_JMP | BPF_JSLT | BPF_K, R7, 0, 1, m->thresholds[i]);
			emit(&g, BPF_ALU64 | BPF_ADD | BPF_K, R8, 0, 0, 1);
		}
	} else {
		for (unsigned int c = 0; c < na; c++)
			emit(&g, BPF_STX | BPF_MEM | BPF_DW, FP, score_reg[c], SLOT(c), 0);
		emit(&g, BPF_ALU64 | BPF_MOV | BPF_K, R8, 0, 0, 0);
		emit(&g, BPF_LDX | BPF_MEM | BPF_DW, R7, FP, SLOT(0), 0);
		for (unsigned int a = 1; a < na; a++) {
			emit(&g, BPF_LDX | BPF_MEM | BPF_DW, R1, FP, SLOT(a), 0);
			emit(&g, BPF_JMP | BPF_JSLE | BPF_X, R1, R7, 2, 0);
			emit(&g, BPF_ALU64 | BPF_MOV | BPF_X, R7, R1, 0, 0);
			emit(&g, BPF_ALU64 | BPF_MOV | BPF_K, R8, 0, 0, (int32_t)a);
		}
	}
	emit(&g, BPF_ST | BPF_MEM | BPF_W, R6, 0, (int16_t)offsetof(struct fragml_cio, r.version),
	     (int32_t)version);
	emit(&g, BPF_STX | BPF_MEM | BPF_W, R6, R8, (int16_t)offsetof(struct fragml_cio, r.action), 0);
	emit(&g, BPF_STX | BPF_MEM | BPF_DW, R6, R7, (int16_t)offsetof(struct fragml_cio, r.score), 0);
	/* count it like fragml_count(): counters[hook, row, action] += 1 */
	emit(&g, BPF_ALU64 | BPF_MOV | BPF_X, R1, R8, 0, 0);
	emit(&g, BPF_ALU64 | BPF_ADD | BPF_K, R1, 0, 0, FRAGML_COUNTER_INDEX(m->hook, row, 0));
	emit(&g, BPF_STX | BPF_MEM | BPF_W, FP, R1, -4, 0);
	emit_lookup(&g, t->counters_fd);
	emit(&g, BPF_JMP | BPF_JEQ | BPF_K, R0, 0, 3, 0);
	emit(&g, BPF_LDX | BPF_MEM | BPF_DW, R1, R0, 0, 0);
	emit(&g, BPF_ALU64 | BPF_ADD | BPF_K, R1, 0, 0, 1);
	emit(&g, BPF_STX | BPF_MEM | BPF_DW, R0, R1, 0, 0);
	emit(&g, BPF_ALU64 | BPF_MOV | BPF_X, R0, R8, 0, 0);
	emit(&g, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);

	if (g.oom)
		ret = fragml_err_set(err, -ENOMEM, "compile: out of memory");
	else if (g.n > 1000000)
		ret = fragml_err_set(err, -E2BIG, "compile: %u instructions (the kernel takes 1 000 000)", g.n);
	free(g.fix);
	if (ret) {
		free(g.in);
		return ret;
	}
	*insns = g.in;
	*n = g.n;
	return 0;
}

int fragml_compile_load(const struct fragml_model *m, uint32_t version,
			const struct fragml_cgen_target *t, unsigned int *n_insns,
			struct fragml_err *err)
{
	static char log[4096];
	LIBBPF_OPTS(bpf_prog_load_opts, po, .expected_attach_type = t->attach,
		    .attach_btf_id = t->attach_btf_id);
	struct bpf_insn *in;
	char name[16];
	unsigned int n;
	int fd, ret;

	ret = fragml_compile(m, version, t, &in, &n, err);
	if (ret)
		return ret;
	if (n_insns)
		*n_insns = n;
	snprintf(name, sizeof(name), "frgc_%.3s_v%u", fragml_hook_name(m->hook), version % 100000);
	fd = bpf_prog_load(t->type, name, "Dual BSD/GPL", in, n, &po);
	if (fd < 0) {
		/* again with the verifier's log, for the reason */
		char *last = log, *p;

		ret = fd;
		log[0] = 0;
		po.log_buf = log;
		po.log_size = sizeof(log);
		po.log_level = 1;
		fd = bpf_prog_load(t->type, name, "Dual BSD/GPL", in, n, &po);
		if (fd >= 0) {
			free(in);
			return fd;
		}
		for (p = log; *p; p++)
			if (*p == '\n' && p[1])
				last = p + 1;
		last[strcspn(last, "\n")] = 0;
		fragml_err_set(err, ret, "compiled %s v%u (%u instructions): the kernel refused it: %s%s%s",
			       fragml_hook_name(m->hook), version, n, strerror(-ret), *last ? ": " : "", last);
	}
	free(in);
	return fd;
}
