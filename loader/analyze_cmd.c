// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `fragml analyze A.csv [B.csv]`: dataset summaries, drift, gnuplot figures. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fragml_analyze.h"
#include "fragml_cli.h"

static void analyze_usage(FILE *f)
{
	fprintf(f,
		"Usage: fragml analyze [OPTIONS] DATA.csv [OTHER.csv]\n\n"
		"Summaries of a collector dataset (docs/dataset.md): label balance, per class,\n"
		"workload, source and feature; with OTHER.csv, drift of OTHER against DATA per\n"
		"feature (PSI over DATA's deciles + missing, two-sample KS).  Figures: gnuplot\n"
		"scripts + data + PNG in the output directory.\n\n"
		"  --hook H           " FRAGML_HOOK_LIST "\n"
		"                     (default: the hook with most rows)\n"
		"  --out DIR          figures directory (default fragml-analysis)\n"
		"  --no-plots         no figures\n"
		"  --json             one JSON object instead of the text report\n"
		"  --top N            sources listed (default 15, 0 = all)\n"
		"  --psi X            PSI at or above which a feature has drifted (default 0.2)\n"
		"  --fail-on-drift    exit 3 when any feature drifted\n"
		"  --allow-missing-columns  registered features without a column read as missing\n");
}

/* Run `gnuplot script` inside dir; 0 on success. */
static int run_gnuplot(const char *dir, const char *script)
{
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (chdir(dir))
			_exit(126);
		if (!freopen("/dev/null", "w", stdout))
			_exit(126);
		execlp("gnuplot", "gnuplot", script, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return -ENOENT;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

int fragml_cmd_analyze(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "hook", required_argument, NULL, 'H' },
		{ "out", required_argument, NULL, 'o' },
		{ "no-plots", no_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ "top", required_argument, NULL, 't' },
		{ "psi", required_argument, NULL, 'p' },
		{ "fail-on-drift", no_argument, NULL, 'F' },
		{ "allow-missing-columns", no_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' }, { 0 }
	};
	const char *prog = "fragml analyze", *outdir = "fragml-analysis";
	struct fragml_read_opts ro = { .hook = -1 };
	struct fragml_drift_opts dopts = { 0 };
	struct fragml_dataset a, b;
	struct fragml_analysis an = { 0 };
	struct fragml_drift drift;
	struct fragml_err err = { 0 };
	bool plots = true, json = false, fail_on_drift = false, have_b;
	unsigned int top = 15;
	char scripts[8][32];
	int c, hook = -1, ret = 1, n;

	while ((c = getopt_long(argc, argv, "H:o:Pjt:p:FMh", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			hook = fragml_hook_from_name(optarg);
			if (hook < 0) {
				fprintf(stderr, "%s: unknown hook '%s' (" FRAGML_HOOK_LIST ")\n", prog, optarg);
				return 2;
			}
			break;
		case 'o': outdir = optarg; break;
		case 'P': plots = false; break;
		case 'j': json = true; break;
		case 't': top = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'p':
			dopts.psi_threshold = strtod(optarg, NULL);
			if (dopts.psi_threshold <= 0) {
				fprintf(stderr, "%s: --psi '%s': want a number > 0\n", prog, optarg);
				return 2;
			}
			break;
		case 'F': fail_on_drift = true; break;
		case 'M': ro.allow_missing_columns = 1; break;
		default:
			analyze_usage(c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : 2;
		}
	}
	if (argc - optind < 1 || argc - optind > 2) {
		analyze_usage(stderr);
		return 2;
	}
	have_b = argc - optind == 2;
	fragml_dataset_init(&a);
	fragml_dataset_init(&b);
	if (fragml_dataset_read_csv(&a, argv[optind], &ro, &err) ||
	    (have_b && fragml_dataset_read_csv(&b, argv[optind + 1], &ro, &err))) {
		fragml_cli_fail(prog, &err);
		goto out;
	}
	if (fragml_analyze(&a, hook, &an, &err)) {
		fprintf(stderr, "%s: %s: %s\n", prog, argv[optind], fragml_err_msg(&err));
		goto out;
	}
	if (have_b && fragml_drift_compute(&a, &b, an.hook, &dopts, &drift, &err)) {
		fragml_cli_fail(prog, &err);
		goto out;
	}
	if (fragml_analysis_print(stdout, argv[optind], &an, have_b ? &drift : NULL, top, json, &err)) {
		fragml_cli_fail(prog, &err);
		goto out;
	}
	if (plots) {
		n = fragml_analyze_plots(outdir, &a, &an, have_b ? &b : NULL, have_b ? &drift : NULL,
					 scripts, 8, &err);
		if (n < 0) {
			fragml_cli_fail(prog, &err);
			goto out;
		}
		for (int i = 0; i < n; i++) {
			int r = run_gnuplot(outdir, scripts[i]);

			if (r == -ENOENT) {
				fprintf(stderr, "%s: gnuplot not found: the scripts are in %s/ (apt install gnuplot-nox)\n",
					prog, outdir);
				break;
			}
			if (r)
				fprintf(stderr, "%s: gnuplot %s/%s failed\n", prog, outdir, scripts[i]);
		}
		fprintf(stderr, "%s: figures in %s/ (", prog, outdir);
		for (int i = 0; i < n; i++)
			fprintf(stderr, "%s%.*s.png", i ? ", " : "", (int)strlen(scripts[i]) - 3, scripts[i]);
		fprintf(stderr, "; *.gp to regenerate)\n");
	}
	ret = fail_on_drift && have_b && drift.n_drifted ? 3 : 0;
out:
	fragml_analysis_free(&an);
	fragml_dataset_free(&a);
	fragml_dataset_free(&b);
	return ret;
}
