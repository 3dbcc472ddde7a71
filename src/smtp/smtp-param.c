/* smtp-param - ESMTP parameters of MAIL and RCPT, and xtext; see
 * smtp-param.h for the contract. */
#include "smtp/smtp-param.h"

#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/number.h"
#include "core/utf8.h"
#include "smtp/smtp-address.h"

/* The parameters tern knows, each with the extension that brings it and
 * the command it belongs to. */
enum smtp_param_id {
	SMTP_PARAM_ID_SIZE,
	SMTP_PARAM_ID_BODY,
	SMTP_PARAM_ID_SMTPUTF8,
	SMTP_PARAM_ID_RET,
	SMTP_PARAM_ID_ENVID,
	SMTP_PARAM_ID_AUTH,
	SMTP_PARAM_ID_NOTIFY,
	SMTP_PARAM_ID_ORCPT,
	SMTP_PARAM_ID__COUNT
};

static const struct smtp_param_def {
	const char *keyword;
	unsigned extension;
	bool rcpt;          /* RCPT's; else MAIL's */
	bool has_value;     /* keyword=value; else the keyword alone */
} smtp_param_defs[] = {
	[SMTP_PARAM_ID_SIZE] = { "SIZE", SMTP_EXT_SIZE, false, true },
	[SMTP_PARAM_ID_BODY] = { "BODY", SMTP_EXT_8BITMIME, false, true },
	[SMTP_PARAM_ID_SMTPUTF8] = { "SMTPUTF8", SMTP_EXT_SMTPUTF8, false, false },
	[SMTP_PARAM_ID_RET] = { "RET", SMTP_EXT_DSN, false, true },
	[SMTP_PARAM_ID_ENVID] = { "ENVID", SMTP_EXT_DSN, false, true },
	[SMTP_PARAM_ID_AUTH] = { "AUTH", SMTP_EXT_AUTH, false, true },
	[SMTP_PARAM_ID_NOTIFY] = { "NOTIFY", SMTP_EXT_DSN, true, true },
	[SMTP_PARAM_ID_ORCPT] = { "ORCPT", SMTP_EXT_DSN, true, true },
};
_Static_assert(sizeof(smtp_param_defs) / sizeof(smtp_param_defs[0]) == SMTP_PARAM_ID__COUNT,
	       "smtp_param_defs out of step with enum smtp_param_id");

/* Case-insensitive: does text[0..len) equal the upper-case word? */
static bool smtp_word_is(const char *text, size_t len, const char *word)
{
	return len == strlen(word) && strncasecmp(text, word, len) == 0;
}

enum smtp_param_result smtp_params_split(const char *text, size_t len,
					 struct smtp_param params[SMTP_PARAMS_MAX],
					 size_t *count_r, const char **detail_r)
{
	const unsigned char *p = (const unsigned char *)text;
	const unsigned char *end = p + len;
	size_t count = 0;

	for (;;) {
		struct smtp_param *param;

		while (p < end && *p == ' ')
			p++;
		if (p == end)
			break;
		if (count == SMTP_PARAMS_MAX) {
			*detail_r = "too many parameters";
			return SMTP_PARAM_TOO_MANY;
		}
		param = &params[count++];
		/* esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") */
		param->keyword = (const char *)p;
		if (!smtp_address_is_let_dig(*p)) {
			*detail_r = "invalid parameter name";
			return SMTP_PARAM_SYNTAX;
		}
		while (p < end && (smtp_address_is_let_dig(*p) || *p == '-'))
			p++;
		param->keyword_len = (size_t)(p - (const unsigned char *)param->keyword);
		param->value = NULL;
		param->value_len = 0;
		if (p < end && *p == '=') {
			/* esmtp-value = 1*(%d33-60 / %d62-126), RFC 6531: / UTF8-non-ascii */
			param->value = (const char *)++p;
			while (p < end && *p != ' ' && *p != '=' && *p > 32 && *p != 127)
				p++;
			param->value_len = (size_t)(p - (const unsigned char *)param->value);
			if (param->value_len == 0) {
				*detail_r = "empty parameter value";
				return SMTP_PARAM_SYNTAX;
			}
		}
		if (p < end && *p != ' ') {
			*detail_r = "invalid character in parameter";
			return SMTP_PARAM_SYNTAX;
		}
	}
	*count_r = count;
	return SMTP_PARAM_OK;
}

bool smtp_xtext_decode(const char *in, size_t len, bool allow_utf8,
		       char *out, size_t out_size, size_t *out_len_r)
{
	const unsigned char *p = (const unsigned char *)in;
	const unsigned char *end = p + len;
	size_t n = 0;

	while (p < end) {
		size_t unit = 1;

		if (out_size - n < 2)
			return false;
		if (*p == '+') {
			int hi = end - p >= 3 ? number_hex_digit(p[1]) : -1;
			int lo = end - p >= 3 ? number_hex_digit(p[2]) : -1;

			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return false;
			out[n++] = (char)(hi << 4 | lo);
			p += 3;
			continue;
		}
		if (*p >= 0x80) {
			unit = allow_utf8 ? utf8_char_len(p, (size_t)(end - p)) : 0;
			if (unit == 0 || out_size - n < unit + 1)
				return false;
		} else if (*p < '!' || *p > '~' || *p == '=') {
			return false;
		}
		memcpy(out + n, p, unit);
		n += unit;
		p += unit;
	}
	out[n] = '\0';
	*out_len_r = n;
	return true;
}

int smtp_xtext_encode(struct buf *out, const char *text, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		char esc[3] = { '+', hex[c >> 4], hex[c & 15] };
		int r = c >= '!' && c <= '~' && c != '+' && c != '=' ? buf_append(out, &c, 1)
								     : buf_append(out, esc, 3);

		if (r < 0)
			return -1;
	}
	return 0;
}

/* RFC 3461 4.2, 4.4: the value before encoding is printable US-ASCII;
 * under SMTPUTF8 it may be UTF-8 too (RFC 6531 3.3). */
static bool smtp_decoded_printable(const char *text, size_t len, bool utf8)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c >= 0x80 && !utf8)
			return false;
		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return !utf8 || utf8_valid((const unsigned char *)text, len);
}

/* Where the typed checks write. */
struct smtp_param_ctx {
	struct smtp_mail_params *mail;
	struct smtp_rcpt_params *rcpt;
	bool utf8;
};

static enum smtp_param_result smtp_bad(const char **detail_r, const char *detail)
{
	*detail_r = detail;
	return SMTP_PARAM_BAD_VALUE;
}

static enum smtp_param_result smtp_check_size(const struct smtp_param *p,
					      struct smtp_param_ctx *ctx, const char **detail_r)
{
	if (p->value_len > SMTP_SIZE_DIGITS_MAX ||
	    !number_parse_u64(p->value, p->value_len, UINT64_MAX, &ctx->mail->size))
		return smtp_bad(detail_r, "SIZE= needs a number of octets");
	ctx->mail->has_size = true;
	return SMTP_PARAM_OK;
}

static enum smtp_param_result smtp_check_body(const struct smtp_param *p,
					      struct smtp_param_ctx *ctx, const char **detail_r)
{
	if (smtp_word_is(p->value, p->value_len, "7BIT")) {
		ctx->mail->body = SMTP_BODY_7BIT;
	} else if (smtp_word_is(p->value, p->value_len, "8BITMIME")) {
		ctx->mail->body = SMTP_BODY_8BITMIME;
	} else if (smtp_word_is(p->value, p->value_len, "BINARYMIME")) {
		/* RFC 3030 3: needs the BINARYMIME extension, not offered. */
		*detail_r = "BODY=BINARYMIME is not supported";
		return SMTP_PARAM_UNKNOWN;
	} else {
		return smtp_bad(detail_r, "BODY= must be 7BIT or 8BITMIME");
	}
	return SMTP_PARAM_OK;
}

static enum smtp_param_result smtp_check_smtputf8(const struct smtp_param *p,
						  struct smtp_param_ctx *ctx, const char **detail_r)
{
	(void)p;
	(void)detail_r;
	ctx->mail->smtputf8 = true;
	return SMTP_PARAM_OK;
}

static enum smtp_param_result smtp_check_ret(const struct smtp_param *p,
					     struct smtp_param_ctx *ctx, const char **detail_r)
{
	if (smtp_word_is(p->value, p->value_len, "FULL"))
		ctx->mail->ret = SMTP_RET_FULL;
	else if (smtp_word_is(p->value, p->value_len, "HDRS"))
		ctx->mail->ret = SMTP_RET_HDRS;
	else
		return smtp_bad(detail_r, "RET= must be FULL or HDRS");
	return SMTP_PARAM_OK;
}

static enum smtp_param_result smtp_check_envid(const struct smtp_param *p,
					       struct smtp_param_ctx *ctx, const char **detail_r)
{
	struct smtp_mail_params *m = ctx->mail;
	size_t n;

	if (p->value_len > SMTP_ENVID_MAX ||
	    !smtp_xtext_decode(p->value, p->value_len, ctx->utf8, m->envid, sizeof(m->envid), &n) ||
	    !smtp_decoded_printable(m->envid, n, ctx->utf8))
		return smtp_bad(detail_r, "invalid ENVID=");
	m->has_envid = true;
	return SMTP_PARAM_OK;
}

static enum smtp_param_result smtp_check_auth(const struct smtp_param *p,
					      struct smtp_param_ctx *ctx, const char **detail_r)
{
	struct smtp_mail_params *m = ctx->mail;
	struct smtp_address addr;
	size_t n;

	if (p->value_len > SMTP_AUTH_PARAM_MAX ||
	    !smtp_xtext_decode(p->value, p->value_len, ctx->utf8, m->auth, sizeof(m->auth), &n))
		return smtp_bad(detail_r, "invalid AUTH=");
	/* RFC 4954 5: a Mailbox, or "<>" for an unknown submitter. */
	m->auth_null = strcmp(m->auth, "<>") == 0;
	if (!m->auth_null &&
	    smtp_address_parse_mailbox(m->auth, n, ctx->utf8, &addr) != SMTP_ADDRESS_OK)
		return smtp_bad(detail_r, "AUTH= must be a mailbox or <>");
	m->has_auth = true;
	return SMTP_PARAM_OK;
}

/* notify-esmtp-value = "NEVER" / 1#notify-list-element (RFC 3461 4.1). */
static enum smtp_param_result smtp_check_notify(const struct smtp_param *p,
						struct smtp_param_ctx *ctx, const char **detail_r)
{
	static const char *const words[] = { "NEVER", "SUCCESS", "FAILURE", "DELAY" };
	const char *word = p->value;
	const char *end = p->value + p->value_len;
	unsigned notify = 0;

	if (p->value_len > SMTP_NOTIFY_MAX)
		return smtp_bad(detail_r, "NOTIFY= must be NEVER or SUCCESS,FAILURE,DELAY");
	for (;;) {
		const char *comma = memchr(word, ',', (size_t)(end - word));
		size_t len = (size_t)((comma != NULL ? comma : end) - word);
		size_t i;

		for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (smtp_word_is(word, len, words[i]))
				break;
		if (i == sizeof(words) / sizeof(words[0]))
			return smtp_bad(detail_r, "NOTIFY= must be NEVER or SUCCESS,FAILURE,DELAY");
		notify |= 1u << i;
		if (comma == NULL)
			break;
		word = comma + 1;
	}
	if ((notify & SMTP_NOTIFY_NEVER) != 0 && notify != SMTP_NOTIFY_NEVER)
		return smtp_bad(detail_r, "NOTIFY=NEVER must be alone");
	ctx->rcpt->notify = notify;
	return SMTP_PARAM_OK;
}

/* orcpt-parameter = "ORCPT=" addr-type ";" xtext, addr-type = atom
 * (RFC 3461 4.2). */
static enum smtp_param_result smtp_check_orcpt(const struct smtp_param *p,
					       struct smtp_param_ctx *ctx, const char **detail_r)
{
	struct smtp_rcpt_params *r = ctx->rcpt;
	const char *semi = memchr(p->value, ';', p->value_len);
	size_t type_len = semi != NULL ? (size_t)(semi - p->value) : 0;
	size_t rest, n;

	if (p->value_len > SMTP_ORCPT_MAX || type_len == 0 || type_len > SMTP_ORCPT_TYPE_MAX)
		return smtp_bad(detail_r, "ORCPT= must be addr-type;address");
	for (size_t i = 0; i < type_len; i++) {
		if (!smtp_address_is_atext((unsigned char)p->value[i]))
			return smtp_bad(detail_r, "ORCPT= must be addr-type;address");
	}
	rest = p->value_len - type_len - 1;
	if (rest == 0 || !smtp_xtext_decode(semi + 1, rest, ctx->utf8, r->orcpt, sizeof(r->orcpt), &n) ||
	    !smtp_decoded_printable(r->orcpt, n, ctx->utf8))
		return smtp_bad(detail_r, "invalid ORCPT= address");
	memcpy(r->orcpt_type, p->value, type_len);
	r->orcpt_type[type_len] = '\0';
	r->has_orcpt = true;
	return SMTP_PARAM_OK;
}

typedef enum smtp_param_result smtp_param_check_fn(const struct smtp_param *p,
						   struct smtp_param_ctx *ctx,
						   const char **detail_r);

static smtp_param_check_fn *const smtp_param_checks[] = {
	[SMTP_PARAM_ID_SIZE] = smtp_check_size,
	[SMTP_PARAM_ID_BODY] = smtp_check_body,
	[SMTP_PARAM_ID_SMTPUTF8] = smtp_check_smtputf8,
	[SMTP_PARAM_ID_RET] = smtp_check_ret,
	[SMTP_PARAM_ID_ENVID] = smtp_check_envid,
	[SMTP_PARAM_ID_AUTH] = smtp_check_auth,
	[SMTP_PARAM_ID_NOTIFY] = smtp_check_notify,
	[SMTP_PARAM_ID_ORCPT] = smtp_check_orcpt,
};
_Static_assert(sizeof(smtp_param_checks) / sizeof(smtp_param_checks[0]) == SMTP_PARAM_ID__COUNT,
	       "smtp_param_checks out of step with enum smtp_param_id");

/* The known parameter a keyword names for this command and these
 * extensions, or SMTP_PARAM_ID__COUNT. */
static enum smtp_param_id smtp_param_lookup(const struct smtp_param *p, bool rcpt,
					    unsigned extensions)
{
	for (unsigned id = 0; id < SMTP_PARAM_ID__COUNT; id++) {
		const struct smtp_param_def *def = &smtp_param_defs[id];

		if (def->rcpt == rcpt && (extensions & def->extension) != 0 &&
		    smtp_word_is(p->keyword, p->keyword_len, def->keyword))
			return (enum smtp_param_id)id;
	}
	return SMTP_PARAM_ID__COUNT;
}

static enum smtp_param_result smtp_params_check(const struct smtp_param *params, size_t count,
						bool rcpt, unsigned extensions,
						struct smtp_param_ctx *ctx,
						const char **detail_r, size_t *bad_r)
{
	unsigned seen = 0;

	for (size_t i = 0; i < count; i++) {
		const struct smtp_param *p = &params[i];
		enum smtp_param_id id = smtp_param_lookup(p, rcpt, extensions);
		enum smtp_param_result result;

		*bad_r = i;
		if (id == SMTP_PARAM_ID__COUNT) {
			*detail_r = "unknown parameter";
			return SMTP_PARAM_UNKNOWN;
		}
		if ((seen & 1u << id) != 0) {
			*detail_r = "parameter given twice";
			return SMTP_PARAM_DUPLICATE;
		}
		seen |= 1u << id;
		if ((p->value != NULL) != smtp_param_defs[id].has_value)
			return smtp_bad(detail_r, p->value != NULL ? "parameter takes no value"
								   : "parameter needs a value");
		result = smtp_param_checks[id](p, ctx, detail_r);
		if (result != SMTP_PARAM_OK)
			return result;
	}
	return SMTP_PARAM_OK;
}

enum smtp_param_result smtp_mail_params_parse(const struct smtp_param *params, size_t count,
					      unsigned extensions, struct smtp_mail_params *out,
					      const char **detail_r, size_t *bad_r)
{
	struct smtp_param_ctx ctx = { .mail = out };

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < count; i++)
		if (smtp_param_lookup(&params[i], false, extensions) == SMTP_PARAM_ID_SMTPUTF8)
			ctx.utf8 = true;
	return smtp_params_check(params, count, false, extensions, &ctx, detail_r, bad_r);
}

enum smtp_param_result smtp_rcpt_params_parse(const struct smtp_param *params, size_t count,
					      unsigned extensions, bool utf8,
					      struct smtp_rcpt_params *out,
					      const char **detail_r, size_t *bad_r)
{
	struct smtp_param_ctx ctx = { .rcpt = out, .utf8 = utf8 };

	memset(out, 0, sizeof(*out));
	return smtp_params_check(params, count, true, extensions, &ctx, detail_r, bad_r);
}
