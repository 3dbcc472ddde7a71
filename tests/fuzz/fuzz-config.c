/* fuzz-config - libFuzzer harness for the configuration parser: any bytes
 * are loaded as a configuration file; what loads must print and load back
 * to the same text (the `tern check` round trip). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *fuzz_print(const struct config *cfg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		abort();
	config_print(cfg, f);
	fclose(f);
	return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg, again;
	char *text = malloc(size + 1);
	char *error = NULL, *printed, *reprinted;

	if (text == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	if (config_load_string(&cfg, "fuzz", text, &error) < 0) {
		if (error == NULL || strchr(error, '\n') != NULL)
			abort();    /* an error is one line */
		free(error);
		free(text);
		return 0;
	}
	printed = fuzz_print(&cfg);
	if (config_load_string(&again, "fuzz", printed, &error) < 0) {
		fprintf(stderr, "printed configuration does not load: %s\n", error);
		abort();
	}
	reprinted = fuzz_print(&again);
	if (strcmp(printed, reprinted) != 0)
		abort();
	free(printed);
	free(reprinted);
	config_free(&again);
	config_free(&cfg);
	free(text);
	return 0;
}
