/* queue-envelope - the envelope record's format and its parser; see
 * queue-envelope.h for the record. */
#include "queue/queue-envelope.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/number.h"

#define QUEUE_RECORD_MAGIC "tern-envelope 1"
#define QUEUE_NOTIFY_ALL (QUEUE_NOTIFY_NEVER | QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_FAILURE | \
			  QUEUE_NOTIFY_DELAY)

bool queue_id_valid(const char *text, size_t len)
{
	if (len != QUEUE_ID_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((text[i] >= 'A' && text[i] <= 'Z') || (text[i] >= '2' && text[i] <= '7')))
			return false;
	return true;
}

/* An optional string: NULL and "" both mean "not given". */
static const char *queue_opt(const char *s)
{
	return s != NULL && *s != '\0' ? s : NULL;
}

static const char *queue_str(const char *s)
{
	return s != NULL ? s : "";
}

static bool queue_field_ok(const char *s)
{
	return s == NULL || strlen(s) <= QUEUE_FIELD_MAX;
}

const char *queue_envelope_check(const struct queue_envelope *env)
{
	const char *sender = queue_str(env->sender);

	if (env->n_rcpts == 0 || env->rcpts == NULL)
		return "no recipient";
	if (env->n_rcpts > QUEUE_RCPTS_MAX)
		return "too many recipients";
	if (strchr(sender, '\r') != NULL || strchr(sender, '\n') != NULL)
		return "a line end in the sender";
	if (!queue_field_ok(env->sender) || !queue_field_ok(env->envid) ||
	    !queue_field_ok(env->auth_user) || !queue_field_ok(env->client_ip) ||
	    !queue_field_ok(env->helo))
		return "an envelope field is too long";
	if (env->ret != QUEUE_RET_DEFAULT && env->ret != QUEUE_RET_FULL &&
	    env->ret != QUEUE_RET_HDRS)
		return "unknown RET";
	for (size_t i = 0; i < env->n_rcpts; i++) {
		const struct queue_rcpt *r = &env->rcpts[i];

		if (r->address == NULL || r->address[0] == '\0')
			return "a recipient without an address";
		if (!queue_field_ok(r->address) || !queue_field_ok(r->orcpt))
			return "a recipient field is too long";
		if ((r->notify & ~(unsigned)QUEUE_NOTIFY_ALL) != 0)
			return "unknown NOTIFY bits";
	}
	return NULL;
}

/* --- building a record from an envelope -------------------------------- */

/* Copy s (may be NULL: returns NULL) to *pos, advancing it. */
static const char *queue_copy(char **pos, const char *s)
{
	char *start = *pos;
	size_t len;

	if (s == NULL)
		return NULL;
	len = strlen(s);
	memcpy(start, s, len + 1);
	*pos += len + 1;
	return start;
}

static size_t queue_len(const char *s)
{
	return s != NULL ? strlen(s) + 1 : 0;
}

void queue_record_init(struct queue_record *rec, const char *id, int64_t arrival, uint64_t size,
		       const struct queue_envelope *env)
{
	size_t total = queue_len(queue_str(env->sender)) + queue_len(queue_opt(env->envid)) +
		       queue_len(queue_opt(env->auth_user)) + queue_len(queue_str(env->client_ip)) +
		       queue_len(queue_str(env->helo));
	char *pos;

	memset(rec, 0, sizeof(*rec));
	for (size_t i = 0; i < env->n_rcpts; i++)
		total += queue_len(env->rcpts[i].address) + queue_len(queue_opt(env->rcpts[i].orcpt));
	rec->strings = malloc(total);
	rec->rcpts = calloc(env->n_rcpts, sizeof(*rec->rcpts));
	if (rec->strings == NULL || rec->rcpts == NULL)
		abort();
	memcpy(rec->id, id, QUEUE_ID_LEN);
	rec->id[QUEUE_ID_LEN] = '\0';
	rec->arrival = arrival;
	rec->size = size;
	pos = rec->strings;
	rec->env = *env;
	rec->env.sender = queue_copy(&pos, queue_str(env->sender));
	rec->env.envid = queue_copy(&pos, queue_opt(env->envid));
	rec->env.auth_user = queue_copy(&pos, queue_opt(env->auth_user));
	rec->env.client_ip = queue_copy(&pos, queue_str(env->client_ip));
	rec->env.helo = queue_copy(&pos, queue_str(env->helo));
	for (size_t i = 0; i < env->n_rcpts; i++) {
		rec->rcpts[i] = env->rcpts[i];
		rec->rcpts[i].address = queue_copy(&pos, env->rcpts[i].address);
		rec->rcpts[i].orcpt = queue_copy(&pos, queue_opt(env->rcpts[i].orcpt));
	}
	rec->env.rcpts = rec->rcpts;
}

void queue_record_free(struct queue_record *rec)
{
	free(rec->strings);
	free(rec->rcpts);
	memset(rec, 0, sizeof(*rec));
}

/* --- format ------------------------------------------------------------ */

static void queue_put_value(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		char esc[3] = { '%', hex[*p >> 4], hex[*p & 15] };

		if (*p > 0x20 && *p < 0x7f && *p != '%')
			buf_append(b, p, 1);
		else
			buf_append(b, esc, sizeof(esc));
	}
}

/* "key VALUE\n"; no value for an empty s; nothing for a NULL s. */
static void queue_put_line(struct buf *b, const char *key, const char *s)
{
	if (s == NULL)
		return;
	buf_append_str(b, key);
	if (*s != '\0') {
		buf_append(b, " ", 1);
		queue_put_value(b, s);
	}
	buf_append(b, "\n", 1);
}

char *queue_record_format(const struct queue_record *rec, size_t *len_r)
{
	const struct queue_envelope *env = &rec->env;
	struct buf b;

	buf_init(&b, 0);
	buf_printf(&b, QUEUE_RECORD_MAGIC "\nid %s\narrival %lld\nsize %llu\n", rec->id,
		   (long long)rec->arrival, (unsigned long long)rec->size);
	queue_put_line(&b, "sender", env->sender);
	queue_put_line(&b, "envid", env->envid);
	if (env->ret != QUEUE_RET_DEFAULT)
		buf_append_str(&b, env->ret == QUEUE_RET_FULL ? "ret full\n" : "ret hdrs\n");
	if (env->smtputf8)
		buf_append_str(&b, "smtputf8\n");
	if (env->eightbit)
		buf_append_str(&b, "8bitmime\n");
	queue_put_line(&b, "auth", env->auth_user);
	queue_put_line(&b, "client", env->client_ip);
	queue_put_line(&b, "helo", env->helo);
	for (size_t i = 0; i < env->n_rcpts; i++) {
		const struct queue_rcpt *r = &env->rcpts[i];

		buf_printf(&b, "rcpt %s %u ", r->local ? "local" : "remote", r->notify);
		queue_put_value(&b, r->address);
		if (r->orcpt != NULL) {
			buf_append(&b, " ", 1);
			queue_put_value(&b, r->orcpt);
		}
		buf_append(&b, "\n", 1);
	}
	buf_append_str(&b, "end\n");
	*len_r = b.len;
	return b.data;
}

/* --- parse ------------------------------------------------------------- */

enum queue_key {
	QUEUE_KEY_ID,
	QUEUE_KEY_ARRIVAL,
	QUEUE_KEY_SIZE,
	QUEUE_KEY_SENDER,
	QUEUE_KEY_ENVID,
	QUEUE_KEY_RET,
	QUEUE_KEY_SMTPUTF8,
	QUEUE_KEY_8BITMIME,
	QUEUE_KEY_AUTH,
	QUEUE_KEY_CLIENT,
	QUEUE_KEY_HELO,
	QUEUE_KEY_RCPT,
	QUEUE_KEY__COUNT
};

/* Each key with how many fields it takes and whether it must be there. */
static const struct queue_key_def {
	const char *name;
	unsigned min_fields, max_fields;
	bool required;
} queue_keys[] = {
	[QUEUE_KEY_ID] = { "id", 1, 1, true },
	[QUEUE_KEY_ARRIVAL] = { "arrival", 1, 1, true },
	[QUEUE_KEY_SIZE] = { "size", 1, 1, true },
	[QUEUE_KEY_SENDER] = { "sender", 0, 1, true },
	[QUEUE_KEY_ENVID] = { "envid", 1, 1, false },
	[QUEUE_KEY_RET] = { "ret", 1, 1, false },
	[QUEUE_KEY_SMTPUTF8] = { "smtputf8", 0, 0, false },
	[QUEUE_KEY_8BITMIME] = { "8bitmime", 0, 0, false },
	[QUEUE_KEY_AUTH] = { "auth", 1, 1, false },
	[QUEUE_KEY_CLIENT] = { "client", 0, 1, true },
	[QUEUE_KEY_HELO] = { "helo", 0, 1, true },
	[QUEUE_KEY_RCPT] = { "rcpt", 3, 4, true },
};
_Static_assert(sizeof(queue_keys) / sizeof(queue_keys[0]) == QUEUE_KEY__COUNT,
	       "queue_keys must cover enum queue_key");

#define QUEUE_FIELDS_MAX 4

struct queue_line {
	enum queue_key key;
	const char *field[QUEUE_FIELDS_MAX];
	size_t field_len[QUEUE_FIELDS_MAX];
	unsigned n_fields;
};

static int queue_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode one value into *pos (advancing past its NUL): NULL when it is
 * not a well-formed value. Decoding only shrinks, so the record's copy
 * has room. */
static const char *queue_decode(const char *in, size_t len, char **pos)
{
	char *out = *pos, *start = *pos;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '%') {
			int hi, lo;

			if (len - i < 3 || (hi = queue_hexval(in[i + 1])) < 0 ||
			    (lo = queue_hexval(in[i + 2])) < 0 || (hi == 0 && lo == 0))
				return NULL;
			c = (unsigned char)(hi << 4 | lo);
			/* the shortest form only: one way to write each value */
			if (c > 0x20 && c < 0x7f && c != '%')
				return NULL;
			i += 2;
		} else if (c <= 0x20 || c >= 0x7f) {
			return NULL;
		}
		*out++ = (char)c;
	}
	if ((size_t)(out - start) > QUEUE_FIELD_MAX)
		return NULL;
	*out++ = '\0';
	*pos = out;
	return start;
}

/* Split one line (without its LF) into the key and its fields. */
static const char *queue_split(const char *line, size_t len, struct queue_line *l)
{
	const char *end = line + len, *p = line;
	const char *sp = memchr(line, ' ', len);
	size_t klen = sp != NULL ? (size_t)(sp - line) : len;
	size_t k;

	for (k = 0; k < QUEUE_KEY__COUNT; k++)
		if (strlen(queue_keys[k].name) == klen && memcmp(queue_keys[k].name, line, klen) == 0)
			break;
	if (k == QUEUE_KEY__COUNT)
		return "unknown key";
	l->key = (enum queue_key)k;
	l->n_fields = 0;
	p = line + klen;
	while (p < end) {
		const char *f = p + 1, *fend;

		/* p is at a space */
		fend = memchr(f, ' ', (size_t)(end - f));
		if (fend == NULL)
			fend = end;
		if (fend == f)
			return "an empty field";
		if (l->n_fields == QUEUE_FIELDS_MAX)
			return "too many fields";
		l->field[l->n_fields] = f;
		l->field_len[l->n_fields] = (size_t)(fend - f);
		l->n_fields++;
		p = fend;
	}
	if (l->n_fields < queue_keys[k].min_fields || l->n_fields > queue_keys[k].max_fields)
		return "wrong number of fields";
	return NULL;
}

/* The value of field i, or "" for a key without its optional field. */
static const char *queue_field(const struct queue_line *l, unsigned i, char **pos)
{
	if (i >= l->n_fields) {
		**pos = '\0';
		return (*pos)++;
	}
	return queue_decode(l->field[i], l->field_len[i], pos);
}

struct queue_parse {
	struct queue_record *rec;
	char *pos;
	size_t rcpts_cap;
	bool seen[QUEUE_KEY__COUNT];
};

static const char *queue_parse_rcpt(struct queue_parse *ps, const struct queue_line *l)
{
	struct queue_envelope *env = &ps->rec->env;
	struct queue_rcpt *r;
	uint64_t notify;

	if (env->n_rcpts == QUEUE_RCPTS_MAX)
		return "too many recipients";
	if (env->n_rcpts == ps->rcpts_cap) {
		ps->rcpts_cap = ps->rcpts_cap == 0 ? 4 : ps->rcpts_cap * 2;
		ps->rec->rcpts = realloc(ps->rec->rcpts, ps->rcpts_cap * sizeof(*ps->rec->rcpts));
		if (ps->rec->rcpts == NULL)
			abort();
		env->rcpts = ps->rec->rcpts;
	}
	r = &ps->rec->rcpts[env->n_rcpts];
	memset(r, 0, sizeof(*r));
	if (l->field_len[0] == 5 && memcmp(l->field[0], "local", 5) == 0)
		r->local = true;
	else if (l->field_len[0] != 6 || memcmp(l->field[0], "remote", 6) != 0)
		return "a recipient neither local nor remote";
	if (!number_parse_u64(l->field[1], l->field_len[1], QUEUE_NOTIFY_ALL, &notify) ||
	    (l->field_len[1] > 1 && l->field[1][0] == '0'))
		return "a bad NOTIFY";
	r->notify = (unsigned)notify;
	if ((r->address = queue_field(l, 2, &ps->pos)) == NULL)
		return "a bad recipient address";
	if (l->n_fields == 4 && (r->orcpt = queue_field(l, 3, &ps->pos)) == NULL)
		return "a bad ORCPT";
	env->n_rcpts++;
	return NULL;
}

/* A decimal number without leading zeros. */
static bool queue_parse_number(const struct queue_line *l, uint64_t max, uint64_t *value_r)
{
	return number_parse_u64(l->field[0], l->field_len[0], max, value_r) &&
	       (l->field_len[0] == 1 || l->field[0][0] != '0');
}

static const char *queue_parse_line(struct queue_parse *ps, const struct queue_line *l)
{
	struct queue_record *rec = ps->rec;
	struct queue_envelope *env = &rec->env;
	const char **target = NULL;
	uint64_t n;

	if (l->key != QUEUE_KEY_RCPT && ps->seen[l->key])
		return "a key twice";
	ps->seen[l->key] = true;
	switch (l->key) {
	case QUEUE_KEY_ID:
		if (!queue_id_valid(l->field[0], l->field_len[0]))
			return "a bad id";
		memcpy(rec->id, l->field[0], QUEUE_ID_LEN);
		return NULL;
	case QUEUE_KEY_ARRIVAL:
		if (!queue_parse_number(l, INT64_MAX, &n))
			return "a bad arrival";
		rec->arrival = (int64_t)n;
		return NULL;
	case QUEUE_KEY_SIZE:
		if (!queue_parse_number(l, UINT64_MAX, &n))
			return "a bad size";
		rec->size = n;
		return NULL;
	case QUEUE_KEY_RET:
		if (l->field_len[0] == 4 && memcmp(l->field[0], "full", 4) == 0)
			env->ret = QUEUE_RET_FULL;
		else if (l->field_len[0] == 4 && memcmp(l->field[0], "hdrs", 4) == 0)
			env->ret = QUEUE_RET_HDRS;
		else
			return "a bad RET";
		return NULL;
	case QUEUE_KEY_SMTPUTF8:
		env->smtputf8 = true;
		return NULL;
	case QUEUE_KEY_8BITMIME:
		env->eightbit = true;
		return NULL;
	case QUEUE_KEY_RCPT:
		return queue_parse_rcpt(ps, l);
	case QUEUE_KEY_SENDER:
		target = &env->sender;
		break;
	case QUEUE_KEY_ENVID:
		target = &env->envid;
		break;
	case QUEUE_KEY_AUTH:
		target = &env->auth_user;
		break;
	case QUEUE_KEY_CLIENT:
		target = &env->client_ip;
		break;
	case QUEUE_KEY_HELO:
		target = &env->helo;
		break;
	case QUEUE_KEY__COUNT:
		break;
	}
	if (target == NULL || (*target = queue_field(l, 0, &ps->pos)) == NULL)
		return "a bad value";
	return NULL;
}

static const char *queue_parse_lines(struct queue_parse *ps, const char *data, size_t len)
{
	size_t magic = sizeof(QUEUE_RECORD_MAGIC) - 1;
	const char *p, *end = data + len;
	const char *error;

	if (len < magic + 1 || memcmp(data, QUEUE_RECORD_MAGIC "\n", magic + 1) != 0)
		return "not an envelope record of version 1";
	if (len < 4 || memcmp(end - 4, "end\n", 4) != 0 || (len > 4 && end[-5] != '\n'))
		return "no end line";
	for (p = data + magic + 1; p < end - 4;) {
		const char *eol = memchr(p, '\n', (size_t)(end - 4 - p));
		struct queue_line l;

		if (eol == NULL)
			return "a line without its end";
		if ((error = queue_split(p, (size_t)(eol - p), &l)) != NULL ||
		    (error = queue_parse_line(ps, &l)) != NULL)
			return error;
		p = eol + 1;
	}
	for (size_t k = 0; k < QUEUE_KEY__COUNT; k++)
		if (queue_keys[k].required && !ps->seen[k])
			return "a required key is missing";
	return queue_envelope_check(&ps->rec->env);
}

int queue_record_parse(const char *data, size_t len, struct queue_record *rec_r,
		       const char **error_r)
{
	struct queue_parse ps = { .rec = rec_r };
	const char *error;

	memset(rec_r, 0, sizeof(*rec_r));
	if (len > QUEUE_ENVELOPE_MAX) {
		*error_r = "too big";
		return -1;
	}
	rec_r->strings = malloc(len + 1);
	if (rec_r->strings == NULL)
		abort();
	ps.pos = rec_r->strings;
	error = queue_parse_lines(&ps, data, len);
	if (error != NULL) {
		queue_record_free(rec_r);
		*error_r = error;
		return -1;
	}
	return 0;
}
