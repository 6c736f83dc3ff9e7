// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* fragml-load: the short form of `fragml load` (loader/load_cmd.c). */
#include "fragml_cli.h"

int main(int argc, char **argv)
{
	return fragml_cmd_load_as("fragml-load", argc, argv);
}
