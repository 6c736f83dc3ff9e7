// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * An outside program built only against the installed headers and pkg-config:
 * reads a model, evaluates one vector with the reference evaluator, and shows
 * the error convention on a missing file.
 */
#include <stdio.h>
#include <stdlib.h>

#include <fragml_load.h>
#include <fragml_model.h>

int main(int argc, char **argv)
{
	struct fragml_model *m = malloc(sizeof(*m));
	struct fragml_err err = { 0 };
	int32_t f[FRAGML_MAX_FEATURES];

	if (argc != 2 || !m)
		return 2;
	if (fragml_model_read_file(m, "/nonexistent/model.bin", &err) != -2 || err.code != -2)
		return 3;
	if (fragml_model_read_file(m, argv[1], &err)) {
		fprintf(stderr, "consumer: %s\n", fragml_err_msg(&err));
		return 1;
	}
	for (int i = 0; i < FRAGML_MAX_FEATURES; i++)
		f[i] = FRAGML_MISSING;
	printf("hook=%s trees=%u nodes=%u action=%s ram_pages=%llu\n", fragml_hook_name(m->hook),
	       m->n_trees, m->n_nodes, fragml_action_name(m->hook, fragml_model_eval(m, f, NULL)),
	       (unsigned long long)fragml_ram_pages());
	free(m);
	return 0;
}
