// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Training stage: the JSON report of a training run and of model metrics
 * (fragml_metrics_json(), fragml_train_report_json(); fragml_train.h).
 */
#include <math.h>
#include <stdio.h>

#include <json-c/json.h>

#include "fragml_train.h"

static struct json_object *jnum(double v)
{
	char s[40];

	if (isnan(v) || isinf(v))
		return NULL;	/* null */
	snprintf(s, sizeof(s), "%.6g", v);
	return json_object_new_double_s(v, s);
}

static struct json_object *jint(int64_t v)
{
	return json_object_new_int64(v);
}

struct json_object *fragml_metrics_json(const struct fragml_metrics *m)
{
	struct json_object *o = json_object_new_object(), *conf = json_object_new_array();

	json_object_object_add(o, "rows", jint((int64_t)m->n));
	json_object_object_add(o, "accuracy", jnum(m->accuracy));
	json_object_object_add(o, "precision", jnum(m->precision));
	json_object_object_add(o, "recall", jnum(m->recall));
	json_object_object_add(o, "f1", jnum(m->f1));
	json_object_object_add(o, "roc_auc", jnum(m->auc));
	json_object_object_add(o, "tp", jint((int64_t)m->tp));
	json_object_object_add(o, "fp", jint((int64_t)m->fp));
	json_object_object_add(o, "tn", jint((int64_t)m->tn));
	json_object_object_add(o, "fn", jint((int64_t)m->fn));
	/* confusion[label][action]: rows = true label, columns = model action */
	for (unsigned int l = 0; l < (m->n_labels > 2 ? m->n_labels : 2); l++) {
		struct json_object *row = json_object_new_array();

		for (unsigned int a = 0; a < (m->n_actions ? m->n_actions : 2); a++)
			json_object_array_add(row, jint((int64_t)m->confusion[l][a]));
		json_object_array_add(conf, row);
	}
	json_object_object_add(o, "confusion", conf);
	return o;
}

static struct json_object *feature_list(uint64_t mask)
{
	struct json_object *a = json_object_new_array();

	for (int id = 0; id < FRAGML_MAX_FEATURES; id++)
		if (mask & (1ull << id))
			json_object_array_add(a, json_object_new_string(fragml_feature_by_id(id)->name));
	return a;
}

struct json_object *fragml_train_report_json(const struct fragml_dataset *ds,
					     const struct fragml_train_opts *o,
					     const struct fragml_train_result *res)
{
	const struct fragml_model *m = &res->model;
	struct json_object *r = json_object_new_object(), *opt = json_object_new_object(),
			   *data = json_object_new_object(), *mod = json_object_new_object(),
			   *met = json_object_new_object(), *bycls = json_object_new_object(),
			   *sys = json_object_new_object(), *par = json_object_new_object(),
			   *dis = json_object_new_array(), *acts = json_object_new_array(),
			   *thr = json_object_new_array(), *thrq = json_object_new_array();
	uint64_t mask = fragml_hook_feature_mask(o->hook, o->mode);

	json_object_object_add(r, "hook", json_object_new_string(fragml_hook_name(o->hook)));
	json_object_object_add(r, "kind", json_object_new_string(fragml_train_kind_name(o->kind)));

	json_object_object_add(opt, "trees", jint(o->n_trees));
	json_object_object_add(opt, "max_depth", jint(o->max_depth));
	json_object_object_add(opt, "eta", jnum(o->eta));
	json_object_object_add(opt, "min_child_weight", jnum(o->min_child_weight));
	json_object_object_add(opt, "seed", jint(o->seed));
	json_object_object_add(opt, "balance", json_object_new_boolean(o->balance));
	json_object_object_add(opt, "threshold_rule",
			       json_object_new_string(o->threshold_rule ? o->threshold_rule : "f1"));
	if (o->threshold_xfit)
		json_object_object_add(opt, "threshold_from", json_object_new_string("workloads"));
	if (o->kind == FRAGML_TRAIN_ORDINAL3)
		json_object_object_add(opt, "compact_precision", jnum(o->compact_precision));
	if (o->kind == FRAGML_TRAIN_ORDINAL3 && o->never_compact)
		json_object_object_add(opt, "never_compact", json_object_new_boolean(1));
	if (o->decline_precision > 0)
		json_object_object_add(opt, "decline_precision", jnum(o->decline_precision));
	json_object_object_add(opt, "mode", json_object_new_string(o->mode < 0 ? "any" :
								       fragml_mode_name((unsigned int)o->mode)));
	json_object_object_add(opt, "features", feature_list(o->features ? mask & o->features : mask));
	json_object_object_add(r, "options", opt);

	json_object_object_add(data, "rows", jint((int64_t)ds->n_rows));
	for (int p = 0; p < FRAGML_NR_PARTS; p++) {
		struct json_object *po = json_object_new_object();

		json_object_object_add(po, "rows", jint((int64_t)res->part_rows[p]));
		json_object_object_add(po, "positives", jint((int64_t)res->part_pos[p]));
		json_object_object_add(data, fragml_part_name(p), po);
	}
	json_object_object_add(r, "data", data);

	json_object_object_add(mod, "output", json_object_new_string(m->output == FRAGML_OUT_ARGMAX ? "argmax" : "ordinal"));
	for (unsigned int a = 0; a < m->n_actions; a++)
		json_object_array_add(acts, json_object_new_string(fragml_action_name(m->hook, a)));
	json_object_object_add(mod, "actions", acts);
	json_object_object_add(mod, "trees", jint(m->n_trees));
	json_object_object_add(mod, "nodes", jint(m->n_nodes));
	json_object_object_add(mod, "max_depth", jint(m->max_depth));
	json_object_object_add(mod, "bytes", jint((int64_t)fragml_model_file_size(m)));
	json_object_object_add(mod, "base_margin", jnum(res->base_margin));
	if (m->output == FRAGML_OUT_ORDINAL)
		for (unsigned int i = 0; i + 1 < m->n_actions; i++) {
			json_object_array_add(thr, jnum(res->thresholds[i]));
			json_object_array_add(thrq, jint(m->thresholds[i]));
		}
	json_object_object_add(mod, "thresholds", thr);
	json_object_object_add(mod, "thresholds_q16", thrq);
	json_object_object_add(mod, "features_used", feature_list(res->features_used));
	json_object_object_add(r, "model", mod);

	for (int p = 0; p < FRAGML_NR_PARTS; p++) {
		struct json_object *cm = json_object_new_object();

		json_object_object_add(met, fragml_part_name(p), fragml_metrics_json(&res->m[p]));
		json_object_object_add(sys, fragml_part_name(p), fragml_metrics_json(&res->system[p]));
		for (int c = 0; c < FRAGML_NR_CLASSES; c++)
			if (res->by_class[p][c].n)
				json_object_object_add(cm, fragml_class_name(c),
						       fragml_metrics_json(&res->by_class[p][c]));
		json_object_object_add(bycls, fragml_part_name(p), cm);
	}
	json_object_object_add(r, "metrics", met);
	json_object_object_add(r, "by_class", bycls);
	json_object_object_add(r, "system_classes", sys);

	json_object_object_add(par, "rows", jint((int64_t)res->parity_n));
	json_object_object_add(par, "agree", jint((int64_t)res->parity_agree));
	json_object_object_add(par, "agreement", jnum(res->parity));
	json_object_object_add(par, "max_margin_error", jnum(res->max_margin_err));
	json_object_object_add(par, "max_quantisation_error", jnum(res->max_quant_err));
	json_object_object_add(par, "disagreements_total", jint((int64_t)res->n_disagree_total));
	for (unsigned int i = 0; i < res->n_disagree; i++) {
		const struct fragml_disagreement *d = &res->disagree[i];
		struct json_object *e = json_object_new_object();

		json_object_object_add(e, "row", jint((int64_t)d->row));
		json_object_object_add(e, "workload", json_object_new_string(ds->workloads[ds->workload[d->row]]));
		json_object_object_add(e, "ts_ns", jint((int64_t)ds->ts_ns[d->row]));
		json_object_object_add(e, "xgb_margin", jnum(d->xgb_margin));
		json_object_object_add(e, "int_score", jnum(d->int_score));
		json_object_object_add(e, "xgb_action", json_object_new_string(fragml_action_name(m->hook, d->xgb_action)));
		json_object_object_add(e, "int_action", json_object_new_string(fragml_action_name(m->hook, d->int_action)));
		json_object_array_add(dis, e);
	}
	json_object_object_add(par, "disagreements", dis);
	json_object_object_add(r, "parity", par);
	json_object_object_add(r, "train_seconds", jnum(res->train_seconds));
	return r;
}
