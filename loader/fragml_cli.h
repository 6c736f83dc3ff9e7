/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Shared by the fragml commands (not part of the library API). */
#ifndef FRAGML_CLI_H
#define FRAGML_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "fragml_load.h"

/* Options every command honours: FRAGML_BPFFS and FRAGML_BTF override the defaults. */
void fragml_cli_open_opts(struct fragml_open_opts *o);

/* Print `prog: msg` to stderr; returns 1 (the exit status). */
int fragml_cli_fail(const char *prog, const struct fragml_err *err);

/* Report what fragml_open() did (mounted bpffs, installed programs). */
void fragml_cli_open_notes(const char *prog, const struct fragml_open_info *info);

/* `fragml status` body: table or JSON. */
int fragml_cli_status(FILE *out, struct fragml_handle *h, bool json, struct fragml_err *err);

/* One line (or a JSON object) naming a model: hook, version, SHA-256, crc32, size. */
void fragml_cli_report_model(const char *prog, const char *what, uint32_t version,
			     const struct fragml_model *m, const struct fragml_open_info *oi, bool json);
/* The same with the SHA-256 given (a model read back from the kernel is
 * equivalent to its file, not byte-identical: its hash was recorded at publish). */
void fragml_cli_report_model_sha(const char *prog, const char *what, uint32_t version,
				 const struct fragml_model *m, const char *sha256,
				 const struct fragml_open_info *oi, bool json);

/* Roll a hook back and report what runs now; returns the exit status. */
int fragml_cli_rollback(const char *prog, const struct fragml_open_opts *oo, unsigned int hook,
			bool json, bool quiet);

/* `fragml load` with the program name its messages carry (fragml-load is the short form). */
int fragml_cmd_load_as(const char *prog, int argc, char **argv);

/* The watchdog's last state (fragml daemon, <run_dir>/watchdog.json) in one line. */
struct json_object;
void fragml_cli_watchdog_line(FILE *out, struct json_object *state);

/* `fragml guard` body: the guard's state, counters and log. */
int fragml_cli_guard(FILE *out, struct fragml_handle *h, bool json, struct fragml_err *err);

/* Subcommands of `fragml`, one function each (argv[0] is the subcommand). */
int fragml_cmd_load(int argc, char **argv);
int fragml_cmd_status(int argc, char **argv);
int fragml_cmd_probe(int argc, char **argv);
int fragml_cmd_explain(int argc, char **argv);
int fragml_cmd_rollback(int argc, char **argv);
int fragml_cmd_detach(int argc, char **argv);
int fragml_cmd_guard(int argc, char **argv);
int fragml_cmd_top(int argc, char **argv);
int fragml_cmd_report(int argc, char **argv);
int fragml_cmd_feed(int argc, char **argv);
int fragml_cmd_analyze(int argc, char **argv);
int fragml_cmd_daemon(int argc, char **argv);

#endif /* FRAGML_CLI_H */
