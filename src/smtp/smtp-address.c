/* smtp-address - RFC 5321 4.1.2 paths, mailboxes and domains, with the
 * RFC 6531 3.3 UTF-8 extension; see smtp-address.h for the contract. */
#include "smtp/smtp-address.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "core/utf8.h"

static const char *const smtp_address_texts[] = {
	[SMTP_ADDRESS_OK] = "ok",
	[SMTP_ADDRESS_NO_BRACKETS] = "address must be enclosed in <>",
	[SMTP_ADDRESS_BAD_ROUTE] = "invalid source route",
	[SMTP_ADDRESS_BAD_LOCAL] = "invalid local part",
	[SMTP_ADDRESS_NO_DOMAIN] = "missing @domain",
	[SMTP_ADDRESS_BAD_DOMAIN] = "invalid domain",
	[SMTP_ADDRESS_BAD_LITERAL] = "invalid address literal",
	[SMTP_ADDRESS_UNTERMINATED] = "missing > at the end of the address",
	[SMTP_ADDRESS_NULL_PATH] = "empty address not allowed here",
	[SMTP_ADDRESS_LOCAL_TOO_LONG] = "local part longer than 64 octets",
	[SMTP_ADDRESS_DOMAIN_TOO_LONG] = "domain longer than 255 octets",
	[SMTP_ADDRESS_LABEL_TOO_LONG] = "domain label longer than 63 octets",
	[SMTP_ADDRESS_PATH_TOO_LONG] = "address longer than 256 octets",
	[SMTP_ADDRESS_NON_ASCII] = "non-ASCII address without SMTPUTF8",
	[SMTP_ADDRESS_BAD_UTF8] = "malformed UTF-8 in address",
};
_Static_assert(sizeof(smtp_address_texts) / sizeof(smtp_address_texts[0]) == SMTP_ADDRESS__COUNT,
	       "smtp_address_texts out of step with enum smtp_address_result");

const char *smtp_address_result_text(enum smtp_address_result result)
{
	if ((unsigned)result >= SMTP_ADDRESS__COUNT)
		return "invalid address";
	return smtp_address_texts[result];
}

/* A cursor over the text being parsed. */
struct smtp_scan {
	const unsigned char *p;
	const unsigned char *end;
	bool utf8;    /* UTF8-non-ascii allowed (RFC 6531 3.3) */
};

bool smtp_address_is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

bool smtp_address_is_let_dig(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* At an octet over 127: the length of its UTF-8 character, or 0 with
 * *result_r saying why it may not be there. */
static size_t smtp_scan_utf8(const struct smtp_scan *s, enum smtp_address_result *result_r)
{
	size_t n;

	if (!s->utf8) {
		*result_r = SMTP_ADDRESS_NON_ASCII;
		return 0;
	}
	n = utf8_char_len(s->p, (size_t)(s->end - s->p));
	if (n == 0)
		*result_r = SMTP_ADDRESS_BAD_UTF8;
	return n;
}

/* Local-part = Dot-string / Quoted-string. The wire form is at most
 * SMTP_LOCAL_MAX octets, and the canonical form never longer, so checking
 * the wire length before each copy keeps a->local in bounds. */
static enum smtp_address_result smtp_parse_local(struct smtp_scan *s, struct smtp_address *a)
{
	const unsigned char *start = s->p;
	enum smtp_address_result result = SMTP_ADDRESS_OK;
	size_t out = 0;
	bool need_atom = true;

	if (s->p < s->end && *s->p == '"') {
		a->quoted = true;
		s->p++;
		for (;;) {
			const unsigned char *unit = s->p;
			size_t n = 1;

			if (s->p == s->end)
				return SMTP_ADDRESS_BAD_LOCAL;
			if (*s->p == '"') {
				s->p++;
				break;
			}
			if (*s->p == '\\') {
				/* quoted-pairSMTP = %d92 %d32-126 */
				if (s->end - s->p < 2 || s->p[1] < 32 || s->p[1] > 126)
					return SMTP_ADDRESS_BAD_LOCAL;
				unit = s->p + 1;
				s->p += 2;
			} else if (*s->p >= 32 && *s->p <= 126) {
				s->p++;
			} else if (*s->p >= 0x80) {
				n = smtp_scan_utf8(s, &result);
				if (n == 0)
					return result;
				s->p += n;
			} else {
				return SMTP_ADDRESS_BAD_LOCAL;
			}
			/* +1: the closing quote still to come. */
			if ((size_t)(s->p - start) + 1 > SMTP_LOCAL_MAX)
				return SMTP_ADDRESS_LOCAL_TOO_LONG;
			if (*unit == '@')
				a->tricks |= SMTP_ADDRESS_TRICK_QUOTED_AT;
			memcpy(a->local + out, unit, n);
			out += n;
		}
	} else {
		while (s->p < s->end) {
			const unsigned char *unit = s->p;
			size_t n = 1;

			if (*s->p == '.') {
				if (need_atom)
					return SMTP_ADDRESS_BAD_LOCAL;
				need_atom = true;
			} else if (smtp_address_is_atext(*s->p)) {
				need_atom = false;
			} else if (*s->p >= 0x80) {
				n = smtp_scan_utf8(s, &result);
				if (n == 0)
					return result;
				need_atom = false;
			} else {
				break;
			}
			s->p += n;
			if ((size_t)(s->p - start) > SMTP_LOCAL_MAX)
				return SMTP_ADDRESS_LOCAL_TOO_LONG;
			memcpy(a->local + out, unit, n);
			out += n;
		}
		if (need_atom)
			return SMTP_ADDRESS_BAD_LOCAL;
	}
	a->local[out] = '\0';
	if (strchr(a->local, '%') != NULL)
		a->tricks |= SMTP_ADDRESS_TRICK_PERCENT;
	if (strchr(a->local, '!') != NULL)
		a->tricks |= SMTP_ADDRESS_TRICK_BANG;
	return SMTP_ADDRESS_OK;
}

/* address-literal = "[" ( IPv4 / "IPv6:" IPv6 ) "]" (RFC 5321 4.1.3),
 * written back in canonical form. General-address-literal is refused: no
 * Standardized-tag but IPv6 has been registered. */
static enum smtp_address_result smtp_parse_literal(struct smtp_scan *s,
						   char out[SMTP_DOMAIN_MAX + 1])
{
	const unsigned char *start = s->p;
	char text[SMTP_DOMAIN_MAX + 1];
	char canon[INET6_ADDRSTRLEN];
	unsigned char bin[16];
	size_t len = 0;

	s->p++;
	for (;;) {
		if (s->p == s->end)
			return SMTP_ADDRESS_BAD_LITERAL;
		if (*s->p == ']')
			break;
		/* dcontent = %d33-90 / %d94-126 */
		if (*s->p < 33 || *s->p > 126 || *s->p == '[' || *s->p == '\\')
			return SMTP_ADDRESS_BAD_LITERAL;
		if ((size_t)(s->p - start) + 2 > SMTP_DOMAIN_MAX)
			return SMTP_ADDRESS_DOMAIN_TOO_LONG;
		text[len++] = (char)*s->p++;
	}
	s->p++;
	text[len] = '\0';
	if (len > 5 && strncasecmp(text, "IPv6:", 5) == 0) {
		if (inet_pton(AF_INET6, text + 5, bin) != 1 ||
		    inet_ntop(AF_INET6, bin, canon, sizeof(canon)) == NULL)
			return SMTP_ADDRESS_BAD_LITERAL;
		memcpy(out, "[IPv6:", 6);
		len = 6;
	} else {
		if (inet_pton(AF_INET, text, bin) != 1 ||
		    inet_ntop(AF_INET, bin, canon, sizeof(canon)) == NULL)
			return SMTP_ADDRESS_BAD_LITERAL;
		out[0] = '[';
		len = 1;
	}
	memcpy(out + len, canon, strlen(canon));
	len += strlen(canon);
	out[len++] = ']';
	out[len] = '\0';
	return SMTP_ADDRESS_OK;
}

/* Domain = sub-domain *("." sub-domain), sub-domain = Let-dig [Ldh-str]
 * (RFC 5321 4.1.2), or a U-label under SMTPUTF8 (RFC 6531 3.3). Stops at
 * the first octet that cannot be part of a domain; the caller says
 * whether that octet may follow. */
static enum smtp_address_result smtp_parse_domain_name(struct smtp_scan *s,
						       char out[SMTP_DOMAIN_MAX + 1],
						       bool *utf8_r)
{
	enum smtp_address_result result = SMTP_ADDRESS_OK;
	size_t len = 0, label = 0;
	bool label_utf8 = false;

	for (;;) {
		bool at_end = s->p == s->end || (*s->p != '.' && *s->p != '-' &&
						 !smtp_address_is_let_dig(*s->p) && *s->p < 0x80);
		size_t n = 1;

		if (at_end || *s->p == '.') {
			if (label == 0 || out[len - label] == '-' || out[len - 1] == '-')
				return SMTP_ADDRESS_BAD_DOMAIN;
			if (label > SMTP_LABEL_MAX)
				return SMTP_ADDRESS_LABEL_TOO_LONG;
			/* RFC 5321 2.4: domain names are case-insensitive. */
			for (size_t i = len - label; i < len && !label_utf8; i++)
				if (out[i] >= 'A' && out[i] <= 'Z')
					out[i] = (char)(out[i] - 'A' + 'a');
			if (at_end)
				break;
			label = 0;
			label_utf8 = false;
		} else if (*s->p >= 0x80) {
			n = smtp_scan_utf8(s, &result);
			if (n == 0)
				return result;
			label_utf8 = true;
			*utf8_r = true;
		}
		if (len + n > SMTP_DOMAIN_MAX)
			return SMTP_ADDRESS_DOMAIN_TOO_LONG;
		memcpy(out + len, s->p, n);
		len += n;
		if (*s->p != '.')
			label += n;
		s->p += n;
	}
	out[len] = '\0';
	return SMTP_ADDRESS_OK;
}

static enum smtp_address_result smtp_parse_domain_or_literal(struct smtp_scan *s,
							     char out[SMTP_DOMAIN_MAX + 1],
							     bool *literal_r, bool *utf8_r)
{
	*literal_r = s->p < s->end && *s->p == '[';
	if (*literal_r)
		return smtp_parse_literal(s, out);
	return smtp_parse_domain_name(s, out, utf8_r);
}

/* Mailbox = Local-part "@" ( Domain / address-literal ). */
static enum smtp_address_result smtp_parse_mailbox(struct smtp_scan *s, struct smtp_address *a)
{
	enum smtp_address_result result = smtp_parse_local(s, a);

	if (result != SMTP_ADDRESS_OK)
		return result;
	if (s->p == s->end || *s->p != '@')
		return s->p == s->end || *s->p == '>' ? SMTP_ADDRESS_NO_DOMAIN : SMTP_ADDRESS_BAD_LOCAL;
	s->p++;
	for (const char *c = a->local; *c != '\0'; c++)
		if ((unsigned char)*c >= 0x80)
			a->utf8 = true;
	return smtp_parse_domain_or_literal(s, a->domain, &a->literal, &a->utf8);
}

/* A-d-l = At-domain *( "," At-domain ) ":" (RFC 5321 4.1.2): checked,
 * then ignored (RFC 5321 3.6.1, 4.1.1.3). */
static enum smtp_address_result smtp_parse_route(struct smtp_scan *s, const unsigned char *path)
{
	char domain[SMTP_DOMAIN_MAX + 1];
	bool literal, utf8 = false;

	for (;;) {
		enum smtp_address_result result;

		if (s->p == s->end || *s->p != '@')
			return SMTP_ADDRESS_BAD_ROUTE;
		s->p++;
		result = smtp_parse_domain_or_literal(s, domain, &literal, &utf8);
		if (result != SMTP_ADDRESS_OK)
			return result;
		if ((size_t)(s->p - path) > SMTP_PATH_MAX)
			return SMTP_ADDRESS_PATH_TOO_LONG;
		if (s->p == s->end || (*s->p != ',' && *s->p != ':'))
			return SMTP_ADDRESS_BAD_ROUTE;
		if (*s->p++ == ':')
			return SMTP_ADDRESS_OK;
	}
}

static void smtp_address_clear(struct smtp_address *a)
{
	memset(a, 0, sizeof(*a));
}

enum smtp_address_result smtp_address_parse_path(const char *text, size_t len,
						 enum smtp_path_kind kind, bool utf8,
						 struct smtp_address *addr_r, size_t *consumed_r)
{
	static const char postmaster[] = "Postmaster>";
	struct smtp_scan s = {
		.p = (const unsigned char *)text,
		.end = (const unsigned char *)text + len,
		.utf8 = utf8,
	};
	const unsigned char *path = s.p;
	enum smtp_address_result result;

	smtp_address_clear(addr_r);
	if (len == 0 || *s.p != '<')
		return SMTP_ADDRESS_NO_BRACKETS;
	s.p++;
	if (s.p < s.end && *s.p == '>') {
		if (kind == SMTP_PATH_FORWARD)
			return SMTP_ADDRESS_NULL_PATH;
		addr_r->null_path = true;
		*consumed_r = 2;
		return SMTP_ADDRESS_OK;
	}
	if (kind == SMTP_PATH_FORWARD && (size_t)(s.end - s.p) >= sizeof(postmaster) - 1 &&
	    strncasecmp((const char *)s.p, postmaster, sizeof(postmaster) - 1) == 0) {
		memcpy(addr_r->local, s.p, sizeof(postmaster) - 2);
		addr_r->local[sizeof(postmaster) - 2] = '\0';
		addr_r->postmaster = true;
		*consumed_r = sizeof(postmaster);
		return SMTP_ADDRESS_OK;
	}
	if (s.p < s.end && *s.p == '@') {
		result = smtp_parse_route(&s, path);
		if (result != SMTP_ADDRESS_OK)
			return result;
		addr_r->tricks |= SMTP_ADDRESS_TRICK_SOURCE_ROUTE;
	}
	result = smtp_parse_mailbox(&s, addr_r);
	if (result != SMTP_ADDRESS_OK)
		return result;
	if (s.p == s.end)
		return SMTP_ADDRESS_UNTERMINATED;
	if (*s.p != '>')
		return addr_r->literal ? SMTP_ADDRESS_UNTERMINATED : SMTP_ADDRESS_BAD_DOMAIN;
	s.p++;
	if ((size_t)(s.p - path) > SMTP_PATH_MAX)
		return SMTP_ADDRESS_PATH_TOO_LONG;
	*consumed_r = (size_t)(s.p - path);
	return SMTP_ADDRESS_OK;
}

enum smtp_address_result smtp_address_parse_mailbox(const char *text, size_t len, bool utf8,
						    struct smtp_address *addr_r)
{
	struct smtp_scan s = {
		.p = (const unsigned char *)text,
		.end = (const unsigned char *)text + len,
		.utf8 = utf8,
	};
	enum smtp_address_result result;

	smtp_address_clear(addr_r);
	result = smtp_parse_mailbox(&s, addr_r);
	if (result != SMTP_ADDRESS_OK)
		return result;
	if (s.p != s.end)
		return addr_r->literal ? SMTP_ADDRESS_BAD_LITERAL : SMTP_ADDRESS_BAD_DOMAIN;
	return SMTP_ADDRESS_OK;
}

enum smtp_address_result smtp_address_parse_domain(const char *text, size_t len,
						   char domain_r[SMTP_DOMAIN_MAX + 1],
						   bool *literal_r)
{
	struct smtp_scan s = {
		.p = (const unsigned char *)text,
		.end = (const unsigned char *)text + len,
		.utf8 = false,
	};
	enum smtp_address_result result;
	bool utf8 = false;

	result = smtp_parse_domain_or_literal(&s, domain_r, literal_r, &utf8);
	if (result != SMTP_ADDRESS_OK)
		return result;
	if (s.p != s.end)
		return *literal_r ? SMTP_ADDRESS_BAD_LITERAL : SMTP_ADDRESS_BAD_DOMAIN;
	return SMTP_ADDRESS_OK;
}

/* Whether the canonical local part can go out as a Dot-string. */
static bool smtp_local_is_dot_string(const char *local)
{
	bool need_atom = true;

	for (const unsigned char *c = (const unsigned char *)local; *c != '\0'; c++) {
		if (*c == '.') {
			if (need_atom)
				return false;
			need_atom = true;
		} else if (smtp_address_is_atext(*c) || *c >= 0x80) {
			need_atom = false;
		} else {
			return false;
		}
	}
	return !need_atom;
}

size_t smtp_address_write(const struct smtp_address *addr, char out[SMTP_ADDRESS_TEXT_MAX])
{
	size_t len = 0;

	if (addr->null_path) {
		out[0] = '\0';
		return 0;
	}
	if (smtp_local_is_dot_string(addr->local)) {
		len = strlen(addr->local);
		memcpy(out, addr->local, len);
	} else {
		out[len++] = '"';
		for (const char *c = addr->local; *c != '\0'; c++) {
			if (*c == '"' || *c == '\\')
				out[len++] = '\\';
			out[len++] = *c;
		}
		out[len++] = '"';
	}
	if (addr->domain[0] != '\0') {
		size_t dlen = strlen(addr->domain);

		out[len++] = '@';
		memcpy(out + len, addr->domain, dlen);
		len += dlen;
	}
	out[len] = '\0';
	return len;
}
