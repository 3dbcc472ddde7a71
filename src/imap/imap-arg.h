/* imap-arg - the arguments of one IMAP command as the parser hands them
 * over (RFC 9051 9, the formal syntax): a flat array of top-level
 * arguments, lists nested inside. Every string is NUL-terminated and owned
 * by the parser until the next command is fed; a literal may hold NUL
 * bytes (use len). Shared by the parser (imap-parser.c) and every command. */
#ifndef TERN_IMAP_IMAP_ARG_H
#define TERN_IMAP_IMAP_ARG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum imap_arg_type {
	/* An atom as written: a number, a sequence set ("1:*,5"), a flag
	 * ("\Seen"), a FETCH item. An atom holding '[' runs to the matching
	 * ']' whatever it holds, spaces and parentheses included, so that
	 * "BODY.PEEK[HEADER.FIELDS (From To)]<0.100>" is one atom. */
	IMAP_ARG_ATOM,
	IMAP_ARG_QUOTED,    /* a quoted string, its escapes undone */
	IMAP_ARG_LITERAL,   /* {n} or {n+} held whole, or a streamed message (also ~{n}) */
	IMAP_ARG_NIL,       /* the atom NIL (any case); str holds it as written */
	IMAP_ARG_LIST,      /* ( ... ): children in list/n */
	IMAP_ARG__COUNT
};

struct imap_arg {
	enum imap_arg_type type;
	const char *str;            /* ATOM, QUOTED, LITERAL, NIL; "" for LIST */
	size_t len;
	bool literal8;              /* LITERAL written as ~{n} (RFC 3516 / 9051 APPEND): streamed only */
	/* LITERAL that was streamed (imap_parser_set_stream): its bytes went
	 * to the caller; str is "" and len is the literal's size. */
	bool streamed;
	const struct imap_arg *list; /* LIST: its elements */
	size_t n;                   /* LIST: how many */
};

/* An astring (atom, quoted or literal, not streamed; NIL too, which is
 * an atom for RFC 9051 9 astring: a mailbox may be called "nil"): its
 * text, else NULL. */
const char *imap_arg_astring(const struct imap_arg *arg);
/* A string (quoted or literal, not streamed; not an atom), else NULL. */
const char *imap_arg_string(const struct imap_arg *arg);
/* An atom equal to `word`, ignoring ASCII case. */
bool imap_arg_atom_is(const struct imap_arg *arg, const char *word);
/* A number (RFC 9051 number: digits, no sign, fits 32 bits / 63 bits). */
bool imap_arg_number(const struct imap_arg *arg, uint32_t *n_r);
bool imap_arg_number64(const struct imap_arg *arg, uint64_t *n_r);

#endif
