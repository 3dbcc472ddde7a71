/* smtp-data - the strict DATA/BDAT message reader; see smtp-data.h for
 * the contract and the rule against smuggling. */
#include "smtp/smtp-data.h"

static const struct smtp_status smtp_data_statuses[] = {
	[SMTP_DATA_ERROR_NONE] = { 0, NULL, "OK" },
	[SMTP_DATA_ERROR_BARE_LF] = { 554, "5.5.2", "Bare LF in message, lines must end with CRLF" },
	[SMTP_DATA_ERROR_BARE_CR] = { 554, "5.5.2", "Bare CR in message, lines must end with CRLF" },
	[SMTP_DATA_ERROR_TOO_BIG] = { 552, "5.3.4", "Message too big" },
};
_Static_assert(sizeof(smtp_data_statuses) / sizeof(smtp_data_statuses[0]) ==
	       SMTP_DATA_ERROR__COUNT, "smtp_data_statuses out of step with enum smtp_data_error");

static const char *const smtp_data_error_names[] = {
	[SMTP_DATA_ERROR_NONE] = "none",
	[SMTP_DATA_ERROR_BARE_LF] = "bare-lf",
	[SMTP_DATA_ERROR_BARE_CR] = "bare-cr",
	[SMTP_DATA_ERROR_TOO_BIG] = "too-big",
};
_Static_assert(sizeof(smtp_data_error_names) / sizeof(smtp_data_error_names[0]) ==
	       SMTP_DATA_ERROR__COUNT, "smtp_data_error_names out of step with enum smtp_data_error");

const struct smtp_status *smtp_data_error_status(enum smtp_data_error error)
{
	if ((unsigned)error >= SMTP_DATA_ERROR__COUNT)
		error = SMTP_DATA_ERROR_BARE_LF;
	return &smtp_data_statuses[error];
}

const char *smtp_data_error_name(enum smtp_data_error error)
{
	if ((unsigned)error >= SMTP_DATA_ERROR__COUNT)
		return "invalid";
	return smtp_data_error_names[error];
}

enum smtp_data_state {
	SMTP_DATA_LINE_START,   /* after a CRLF, or at the start */
	SMTP_DATA_TEXT,         /* inside a line */
	SMTP_DATA_CR,           /* a CR, not yet output: is an LF next? */
	SMTP_DATA_DOT,          /* DOT: a "." at the start of a line, not output */
	SMTP_DATA_DOT_CR,       /* DOT: ".\r" at the start of a line */
	SMTP_DATA_DONE,         /* DOT: the end was seen */
};

/* The output of one feed is gathered into runs of adjacent input bytes,
 * so a clean message costs one callback per feed. */
struct smtp_data_run {
	const char *start;
	size_t len;
	uint64_t offset;        /* of start in the message */
};

static void smtp_data_flush(struct smtp_data *d, struct smtp_data_run *run)
{
	if (run->len == 0)
		return;
	d->output(d->ctx, run->offset, run->start, run->len);
	run->offset += run->len;
	run->len = 0;
}

static void smtp_data_fail(struct smtp_data *d, struct smtp_data_run *run,
			   enum smtp_data_error error)
{
	if (d->error != SMTP_DATA_ERROR_NONE)
		return;
	smtp_data_flush(d, run);
	d->error = error;
}

/* One message octet: counted, and output while there is no error. */
static void smtp_data_emit(struct smtp_data *d, struct smtp_data_run *run, const char *p)
{
	if (d->size != UINT64_MAX)
		d->size++;
	if (d->error != SMTP_DATA_ERROR_NONE)
		return;
	if (d->size > d->max_size) {
		smtp_data_fail(d, run, SMTP_DATA_ERROR_TOO_BIG);
		return;
	}
	if (run->len > 0 && run->start + run->len != p)
		smtp_data_flush(d, run);
	if (run->len == 0)
		run->start = p;
	run->len++;
}

/* The CR held in state CR or DOT_CR: in this feed's input, or (NULL) a
 * constant when it came with the previous feed. */
static void smtp_data_emit_cr(struct smtp_data *d, struct smtp_data_run *run, const char *cr)
{
	static const char cr_byte = '\r';

	if (cr == NULL) {
		smtp_data_flush(d, run);
		smtp_data_emit(d, run, &cr_byte);
		smtp_data_flush(d, run);
		return;
	}
	smtp_data_emit(d, run, cr);
}

void smtp_data_init(struct smtp_data *d, enum smtp_data_mode mode, uint64_t max_size,
		    smtp_data_output_fn *output, void *ctx)
{
	*d = (struct smtp_data){
		.mode = mode,
		.state = SMTP_DATA_LINE_START,
		.max_size = max_size,
		.output = output,
		.ctx = ctx,
	};
}

enum smtp_data_status smtp_data_feed(struct smtp_data *d, const char *data, size_t len,
				     size_t *consumed_r)
{
	struct smtp_data_run run = { .offset = d->size };
	const char *cr = NULL;

	*consumed_r = 0;
	if (d->state == SMTP_DATA_DONE)
		return SMTP_DATA_END;
	for (size_t i = 0; i < len; i++) {
		const char *p = data + i;

		switch ((enum smtp_data_state)d->state) {
		case SMTP_DATA_CR:
			if (*p == '\n') {
				smtp_data_emit_cr(d, &run, cr);
				smtp_data_emit(d, &run, p);
				d->lines++;
				d->state = SMTP_DATA_LINE_START;
				continue;
			}
			smtp_data_fail(d, &run, SMTP_DATA_ERROR_BARE_CR);
			smtp_data_emit_cr(d, &run, cr);
			break;
		case SMTP_DATA_DOT:
			if (*p == '\r') {
				d->state = SMTP_DATA_DOT_CR;
				cr = p;
				continue;
			}
			/* RFC 5321 4.5.2: the first "." of a longer line goes. */
			break;
		case SMTP_DATA_DOT_CR:
			if (*p == '\n') {
				/* CRLF "." CRLF: the first CRLF ended the last line. */
				smtp_data_flush(d, &run);
				d->state = SMTP_DATA_DONE;
				*consumed_r = i + 1;
				return SMTP_DATA_END;
			}
			smtp_data_fail(d, &run, SMTP_DATA_ERROR_BARE_CR);
			smtp_data_emit_cr(d, &run, cr);
			break;
		case SMTP_DATA_LINE_START:
			if (d->mode == SMTP_DATA_MODE_DOT && *p == '.') {
				d->state = SMTP_DATA_DOT;
				continue;
			}
			break;
		case SMTP_DATA_TEXT:
		case SMTP_DATA_DONE:
			break;
		}
		/* Inside a line: a CR waits for its LF; an LF without one is
		 * bare, and the next octet does not start a line. */
		if (*p == '\r') {
			d->state = SMTP_DATA_CR;
			cr = p;
			continue;
		}
		if (*p == '\n')
			smtp_data_fail(d, &run, SMTP_DATA_ERROR_BARE_LF);
		smtp_data_emit(d, &run, p);
		d->state = SMTP_DATA_TEXT;
	}
	smtp_data_flush(d, &run);
	*consumed_r = len;
	return SMTP_DATA_MORE;
}

enum smtp_data_error smtp_data_finish(struct smtp_data *d)
{
	struct smtp_data_run run = { .offset = d->size };

	if (d->mode == SMTP_DATA_MODE_RAW && d->state == SMTP_DATA_CR) {
		smtp_data_fail(d, &run, SMTP_DATA_ERROR_BARE_CR);
		if (d->size != UINT64_MAX)
			d->size++;
		d->state = SMTP_DATA_TEXT;
	}
	return d->error;
}

enum smtp_data_error smtp_data_error(const struct smtp_data *d)
{
	return d->error;
}

bool smtp_data_line_open(const struct smtp_data *d)
{
	return d->state == SMTP_DATA_TEXT || d->state == SMTP_DATA_CR;
}
