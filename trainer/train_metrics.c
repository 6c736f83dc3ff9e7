// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Training stage: metrics of the integer (compiled) model on the rows of a
 * dataset part -- confusion, precision, recall, F1, ROC-AUC (fragml_train.h).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train_internal.h"

int train_cmp_scored(const void *a, const void *b)
{
	const struct scored *x = a, *y = b;

	return x->score < y->score ? -1 : x->score > y->score;
}

/* Mann-Whitney ROC-AUC with ties counted half.  Sorts v. */
static double roc_auc(struct scored *v, size_t n)
{
	double rank_sum = 0;
	size_t npos = 0, i = 0;

	qsort(v, n, sizeof(*v), train_cmp_scored);
	while (i < n) {
		size_t j = i, p = 0;

		while (j < n && v[j].score == v[i].score)
			p += v[j++].pos;
		rank_sum += (double)p * ((double)(i + 1 + j) / 2.0);
		npos += p;
		i = j;
	}
	if (!npos || npos == n)
		return NAN;
	return (rank_sum - (double)npos * (double)(npos + 1) / 2.0) /
	       ((double)npos * (double)(n - npos));
}

double train_ratio(size_t a, size_t b)
{
	return b ? (double)a / (double)b : NAN;
}

static void finish_metrics(struct fragml_metrics *m)
{
	m->accuracy = train_ratio(m->tp + m->tn, m->n);
	m->precision = train_ratio(m->tp, m->tp + m->fp);
	m->recall = train_ratio(m->tp, m->tp + m->fn);
	m->f1 = train_ratio(2 * m->tp, 2 * m->tp + m->fp + m->fn);
}

static int64_t binary_score(const struct fragml_model *m, const struct fragml_eval_out *o)
{
	if (m->output == FRAGML_OUT_ORDINAL)
		return o->scores[0];
	if (m->n_actions == 2)
		return o->scores[1] - o->scores[0];
	return o->scores[o->action];	/* no meaningful binary score */
}

void train_eval_rows(const struct fragml_model *m, const struct fragml_dataset *ds,
		     struct row_eval *ev)
{
	for (size_t r = 0; r < ds->n_rows; r++) {
		struct fragml_eval_out o;

		if (ds->hook[r] != m->hook)
			continue;
		fragml_model_eval(m, ds->x + r * FRAGML_MAX_FEATURES, &o);
		ev[r].action = (uint8_t)o.action;
		ev[r].score = binary_score(m, &o);
	}
}

/* Metrics over rows r of m->hook with (which < 0 || part[r] == which) and,
 * when cls_filter >= 0, class == cls_filter (-2: system classes). */
void train_metrics_of(const struct fragml_model *m, const struct fragml_dataset *ds,
		      const uint8_t *part, int which, int cls_filter,
		      const struct row_eval *ev, struct scored *tmp, struct fragml_metrics *out)
{
	size_t n = 0;

	memset(out, 0, sizeof(*out));
	out->n_actions = m->n_actions;
	for (size_t r = 0; r < ds->n_rows; r++) {
		int pos, pred;

		if (ds->hook[r] != m->hook || (which >= 0 && part[r] != which))
			continue;
		if (cls_filter == -2 && !fragml_class_is_system(ds->cls[r]))
			continue;
		if (cls_filter >= 0 && ds->cls[r] != cls_filter)
			continue;
		pos = ds->label[r] >= 1;
		pred = ev[r].action >= 1;
		if (ds->label[r] + 1u > out->n_labels)
			out->n_labels = ds->label[r] + 1u;
		out->confusion[ds->label[r]][ev[r].action]++;
		if (m->output == FRAGML_OUT_ARGMAX && m->n_actions > 2) {
			/* multi-class: "positive" = correct, for accuracy only */
			if (ds->label[r] == ev[r].action)
				out->tp++;
			else
				out->fp++;
		} else {
			out->tp += pos && pred;
			out->fp += !pos && pred;
			out->tn += !pos && !pred;
			out->fn += pos && !pred;
		}
		tmp[n].score = ev[r].score;
		tmp[n].pos = (uint8_t)pos;
		n++;
	}
	out->n = n;
	if (m->output == FRAGML_OUT_ARGMAX && m->n_actions > 2) {
		out->accuracy = train_ratio(out->tp, n);
		out->precision = out->recall = out->f1 = out->auc = NAN;
		out->tp = out->fp = 0;
		return;
	}
	finish_metrics(out);
	out->auc = roc_auc(tmp, n);
}

void fragml_model_metrics_class(const struct fragml_model *m, const struct fragml_dataset *ds,
				const uint8_t *part, int which, int cls, struct fragml_metrics *out)
{
	struct row_eval *ev = calloc(ds->n_rows + 1, sizeof(*ev));
	struct scored *tmp = calloc(ds->n_rows + 1, sizeof(*tmp));

	memset(out, 0, sizeof(*out));
	if (ev && tmp) {
		train_eval_rows(m, ds, ev);
		train_metrics_of(m, ds, part, which, cls < -2 ? -1 : cls, ev, tmp, out);
	}
	free(ev);
	free(tmp);
}
