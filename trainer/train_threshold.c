// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Training stage: decision thresholds.  Candidates lie between adjacent
 * distinct scores of the integer model; a rule (f1, recall:R, precision:P,
 * prob:P) picks one (fragml_train.h).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train_internal.h"

int fragml_threshold_rule_check(const char *rule, struct fragml_err *err)
{
	char *end;
	double v;

	if (!strcmp(rule, "f1"))
		return 0;
	if (!strncmp(rule, "recall:", 7) || !strncmp(rule, "precision:", 10) ||
	    !strncmp(rule, "prob:", 5)) {
		const char *p = strchr(rule, ':') + 1;

		v = strtod(p, &end);
		if (end != p && !*end && v > 0 && v < 1)
			return 0;
	}
	return fragml_err_set(err, -EINVAL, "threshold rule '%s': expected f1, recall:R, precision:P or prob:P with 0 < R,P < 1",
			      rule);
}

static int cmp_scored_desc(const void *a, const void *b)
{
	return -train_cmp_scored(a, b);
}

static int32_t clamp32(int64_t v)
{
	if (v > INT32_MAX)
		return INT32_MAX;
	if (v < INT32_MIN + 1)
		return INT32_MIN + 1;
	return (int32_t)v;
}

/*
 * Candidate thresholds lie half-way between adjacent distinct scores (so that
 * the small quantisation error of the integer model cannot move a validation
 * row across the line).  cand[k] has n_pred[k] rows at or above it, tp[k] of
 * them positive.  Returns the number of candidates.
 */
struct cand {
	int64_t thr;
	size_t n_pred, tp;
};

static size_t candidates(struct scored *v, size_t n, struct cand *c)
{
	size_t k = 0, tp = 0, i = 0;

	qsort(v, n, sizeof(*v), cmp_scored_desc);
	/* nothing positive */
	c[k++] = (struct cand){ .thr = (n ? v[0].score : 0) + (1 << FRAGML_LEAF_SHIFT), 0, 0 };
	while (i < n) {
		size_t j = i;
		int64_t next;

		while (j < n && v[j].score == v[i].score)
			tp += v[j++].pos;
		next = j < n ? v[j].score : v[i].score - 2 * (1 << FRAGML_LEAF_SHIFT);
		c[k++] = (struct cand){ .thr = next + (v[i].score - next + 1) / 2, .n_pred = j, .tp = tp };
		i = j;
	}
	return k;
}

static double cand_f1(const struct cand *c, size_t npos)
{
	return train_ratio(2 * c->tp, c->n_pred + npos);
}

/* Choose the binary threshold by rule; returns Q15.16. */
static int64_t choose_threshold(struct scored *v, size_t n, const char *rule, const struct cand *c,
				size_t nc)
{
	size_t npos = 0, best = 0;
	double target;

	for (size_t i = 0; i < n; i++)
		npos += v[i].pos;
	if (!strncmp(rule, "prob:", 5)) {
		double p = strtod(rule + 5, NULL);

		return fragml_fixed_from_double(log(p / (1 - p)));
	}
	if (!strcmp(rule, "f1")) {
		/* Highest F1; among ties the middle candidate, away from both ends. */
		size_t first = 0, last = 0;
		double bf = -1;

		for (size_t k = 0; k < nc; k++) {
			double f = cand_f1(&c[k], npos);

			if (isnan(f))
				f = 0;
			if (f > bf + 1e-12) {
				bf = f;
				first = last = k;
			} else if (fabs(f - bf) <= 1e-12 && last == k - 1) {
				last = k;
			}
		}
		best = first + (last - first) / 2;
		return c[best].thr;
	}
	target = strtod(strchr(rule, ':') + 1, NULL);
	if (!strncmp(rule, "recall:", 7)) {
		for (size_t k = 0; k < nc; k++)
			if (npos && train_ratio(c[k].tp, npos) >= target)
				return c[k].thr;
		return c[nc - 1].thr;
	}
	/* precision:P -- the lowest threshold that still has that precision */
	best = 0;
	for (size_t k = 1; k < nc; k++)
		if (train_ratio(c[k].tp, c[k].n_pred) >= target)
			best = k;
	return c[best].thr;
}

/*
 * Thresholds of an ordinal model, chosen on the validation rows (training rows
 * without a validation part) of rows[0..n_rows) with the integer model, or on
 * xs[0..xn) (out-of-workload scores, o->threshold_xfit): the
 * rule's threshold, lowered to where declining is decline_precision-safe, and
 * for ORDINAL3 the compaction threshold of compact_precision.
 */
int train_thresholds(struct fragml_model *m, const struct fragml_dataset *ds, const uint8_t *part,
		     const size_t *rows, size_t n_rows, const struct fragml_train_opts *o,
		     const struct scored *xs, size_t xn,
		     struct fragml_train_result *res, struct fragml_err *err)
{
	if (m->output == FRAGML_OUT_ORDINAL) {
		const char *rule = o->threshold_rule ? o->threshold_rule : "f1";
		int which = res->part_rows[FRAGML_PART_VAL] ? FRAGML_PART_VAL : FRAGML_PART_TRAIN;
		size_t cap = xs ? xn : ds->n_rows;	/* scored rows at most */
		struct cand *c = malloc((cap + 2) * sizeof(*c));
		/* the model's scores of every row, only when they are not given */
		struct row_eval *ev = xs ? NULL : calloc(ds->n_rows + 1, sizeof(*ev));
		struct scored *tmp = calloc(cap + 1, sizeof(*tmp));
		size_t n = 0, nc;
		int64_t t1, t2 = INT32_MAX;

		if (!c || (!xs && !ev) || !tmp) {
			free(c);
			free(ev);
			free(tmp);
			return fragml_err_set(err, -ENOMEM, "out of memory");
		}
		if (xs) {
			memcpy(tmp, xs, xn * sizeof(*tmp));
			n = xn;
		} else {
			train_eval_rows(m, ds, ev);	/* thresholds do not change scores */
			for (size_t i = 0; i < n_rows; i++)
				if (part[rows[i]] == which) {
					tmp[n].score = ev[rows[i]].score;
					tmp[n++].pos = ds->label[rows[i]] >= 1;
				}
		}
		nc = candidates(tmp, n, c);
		t1 = choose_threshold(tmp, n, rule, c, nc);
		if (o->decline_precision > 0) {
			/* decline (action 0) only where the validation rows below t1
			 * are at least decline_precision negative: the highest
			 * candidate <= t1 that reaches it, else never decline */
			size_t npos = 0;
			int64_t t = INT32_MIN + 1;

			for (size_t i = 0; i < n; i++)
				npos += tmp[i].pos;
			for (size_t k = 0; k < nc; k++) {
				size_t below = n - c[k].n_pred, neg = (n - npos) - (c[k].n_pred - c[k].tp);

				if (c[k].thr <= t1 && below &&
				    train_ratio(neg, below) >= o->decline_precision) {
					t = c[k].thr;
					break;
				}
			}
			t1 = t;
		}
		if (o->kind == FRAGML_TRAIN_ORDINAL3) {
			/* stall for compaction only where the region is very likely
			 * to be used: lowest threshold >= t1 with that precision */
			for (size_t k = nc; k-- > 1 && !o->never_compact;)
				if (c[k].thr >= t1 && train_ratio(c[k].tp, c[k].n_pred) >= o->compact_precision) {
					t2 = c[k].thr;
					break;
				}
			m->thresholds[1] = clamp32(t2);
		}
		m->thresholds[0] = clamp32(t1);
		if (m->thresholds[1] && m->thresholds[1] < m->thresholds[0])
			m->thresholds[1] = m->thresholds[0];
		/* a binary model answering another action: every threshold at t1 */
		for (unsigned int a = 1; o->kind == FRAGML_TRAIN_BINARY && a + 1 < m->n_actions; a++)
			m->thresholds[a] = m->thresholds[0];
		free(c);
		free(ev);
		free(tmp);
	}
	for (unsigned int i = 0; i + 1 < m->n_actions && m->output == FRAGML_OUT_ORDINAL; i++)
		res->thresholds[i] = fragml_fixed_to_double(m->thresholds[i]);
	return 0;
}
