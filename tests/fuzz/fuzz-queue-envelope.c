/* fuzz-queue-envelope - libFuzzer harness for the queue's envelope record
 * parser (queue-envelope.h). Whatever parses must pass the envelope
 * check, and written back must parse to the same record and be written
 * the same again: the one way to write each record. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue/queue-envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool fuzz_same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool fuzz_same(const struct queue_record *a, const struct queue_record *b)
{
	const struct queue_envelope *x = &a->env, *y = &b->env;

	if (strcmp(a->id, b->id) != 0 || a->arrival != b->arrival || a->size != b->size ||
	    !fuzz_same_str(x->sender, y->sender) || !fuzz_same_str(x->envid, y->envid) ||
	    !fuzz_same_str(x->auth_user, y->auth_user) || !fuzz_same_str(x->client_ip, y->client_ip) ||
	    !fuzz_same_str(x->helo, y->helo) || x->ret != y->ret || x->smtputf8 != y->smtputf8 ||
	    x->eightbit != y->eightbit || x->n_rcpts != y->n_rcpts)
		return false;
	for (size_t i = 0; i < x->n_rcpts; i++)
		if (!fuzz_same_str(x->rcpts[i].address, y->rcpts[i].address) ||
		    !fuzz_same_str(x->rcpts[i].orcpt, y->rcpts[i].orcpt) ||
		    x->rcpts[i].local != y->rcpts[i].local || x->rcpts[i].notify != y->rcpts[i].notify)
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct queue_record rec, back, copy;
	const char *error = NULL;
	char *text, *text2;
	size_t len, len2;

	if (queue_record_parse((const char *)data, size, &rec, &error) < 0) {
		if (error == NULL)
			__builtin_trap();
		return 0;
	}
	if (queue_envelope_check(&rec.env) != NULL || !queue_id_valid(rec.id, strlen(rec.id)))
		__builtin_trap();
	/* what parsed is exactly what the formatter writes */
	text = queue_record_format(&rec, &len);
	if (len != size || memcmp(text, data, size) != 0)
		__builtin_trap();
	if (queue_record_parse(text, len, &back, &error) < 0 || !fuzz_same(&rec, &back))
		__builtin_trap();
	/* and a copy made from the envelope writes the same */
	queue_record_init(&copy, rec.id, rec.arrival, rec.size, &rec.env);
	text2 = queue_record_format(&copy, &len2);
	if (len2 != len || memcmp(text2, text, len) != 0)
		__builtin_trap();
	free(text2);
	free(text);
	queue_record_free(&copy);
	queue_record_free(&back);
	queue_record_free(&rec);
	return 0;
}
