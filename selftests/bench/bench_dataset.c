// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Dataset reader: time to read a collector CSV whose rows all carry distinct
 * workload and source names (the worst case for the name tables), and to
 * split it by workload.  Median of ROUNDS runs, CPU time of this process.
 *   bench_dataset [ROWS]     (default 20000)
 * Output: a markdown table on stdout (docs/performance.md, "Dataset reader").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fragml_dataset.h"
#include "fragml_features.h"

#define ROUNDS 5

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	size_t rows = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
	char path[] = "/tmp/fragml-bench-dataset-XXXXXX";
	double t_read[ROUNDS], t_split[ROUNDS];
	struct fragml_dataset ds;
	struct fragml_err err = { 0 };
	int32_t feat[FRAGML_MAX_FEATURES];
	uint8_t *part;
	int fd;

	fd = mkstemp(path);
	if (fd < 0 || !rows) {
		perror("bench_dataset");
		return 1;
	}
	close(fd);
	for (int i = 0; i < FRAGML_MAX_FEATURES; i++)
		feat[i] = i;
	fragml_dataset_init(&ds);
	for (size_t r = 0; r < rows; r++) {
		char w[32], s[32];

		snprintf(w, sizeof(w), "workload-%zu", r);
		snprintf(s, sizeof(s), "source-%zu", r);
		if (fragml_dataset_add_row(&ds, r, w, FRAGML_HOOK_LIFETIME, 0, s, feat, r & 1, &err))
			goto fail;
	}
	if (fragml_dataset_write_csv(&ds, path, &err))
		goto fail;
	fragml_dataset_free(&ds);
	part = malloc(rows);
	if (!part)
		goto fail;
	for (int k = 0; k < ROUNDS; k++) {
		double t0 = cpu_s();

		fragml_dataset_init(&ds);
		if (fragml_dataset_read_csv(&ds, path, NULL, &err))
			goto fail;
		t_read[k] = cpu_s() - t0;
		t0 = cpu_s();
		if (fragml_dataset_split(&ds, &(struct fragml_split_opts){ .val_frac = 0.15, .test_frac = 0.2 },
					 part, &err))
			goto fail;
		t_split[k] = cpu_s() - t0;
		fragml_dataset_free(&ds);
	}
	qsort(t_read, ROUNDS, sizeof(double), cmp_d);
	qsort(t_split, ROUNDS, sizeof(double), cmp_d);
	printf("| rows (distinct workload and source names) | read CSV, median of %d | split by workload |\n", ROUNDS);
	printf("|---:|---:|---:|\n");
	printf("| %zu | %.3f s | %.3f s |\n", rows, t_read[ROUNDS / 2], t_split[ROUNDS / 2]);
	unlink(path);
	free(part);
	return 0;
fail:
	fprintf(stderr, "bench_dataset: %s\n", fragml_err_msg(&err));
	unlink(path);
	return 1;
}
