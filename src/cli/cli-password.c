/* cli-password - reading a new password for `tern user add|passwd`: one
 * line of standard input, or, from a terminal, typed twice without echo.
 * Whatever is read goes through password_check_new(), the one rule for new
 * passwords; nothing is trimmed or cut. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "dir/password.h"

/* Longer input is refused without reading further (password_check_new
 * refuses far less already; this only bounds the reading). */
#define CLI_PASSWORD_READ_MAX 4096

enum cli_line {
	CLI_LINE_OK,
	CLI_LINE_EOF,        /* nothing at all before end of input */
	CLI_LINE_TOO_LONG,
	CLI_LINE_NO_TTY,     /* the terminal's echo cannot be turned off */
	CLI_LINE_MISMATCH,   /* typed twice, differently */
};

/* One line of standard input without its LF (or CRLF) into buf, which
 * holds CLI_PASSWORD_READ_MAX bytes; *len_r is its length. Read byte by
 * byte from an unbuffered stdin, so that no copy of the password stays in
 * a stdio buffer, and so that an embedded NUL is kept and seen. */
static enum cli_line cli_password_line(char *buf, size_t *len_r)
{
	size_t n = 0;
	int c = EOF;

	while ((c = getc(stdin)) != EOF && c != '\n') {
		if (n == CLI_PASSWORD_READ_MAX)
			return CLI_LINE_TOO_LONG;
		buf[n++] = (char)c;
	}
	if (c == EOF && n == 0)
		return CLI_LINE_EOF;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	*len_r = n;
	return CLI_LINE_OK;
}

/* The terminal's settings while echo is off, for the signal handler. */
static struct termios cli_tty_saved;

static void cli_tty_restore_and_die(int sig)
{
	tcsetattr(STDIN_FILENO, TCSANOW, &cli_tty_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Prompt on stderr and read one line from the terminal with echo off. */
static enum cli_line cli_password_tty_line(const char *prompt, char *buf, size_t *len_r)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction sa, old[sizeof(sigs) / sizeof(sigs[0])];
	struct termios quiet;
	enum cli_line ret;

	if (tcgetattr(STDIN_FILENO, &cli_tty_saved) < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cli_tty_restore_and_die;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, &old[i]);
	quiet = cli_tty_saved;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	/* TCSAFLUSH: what was typed ahead, while echo was on, is dropped */
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) < 0) {
		ret = CLI_LINE_NO_TTY;
	} else {
		fputs(prompt, stderr);
		fflush(stderr);
		ret = cli_password_line(buf, len_r);
		fputc('\n', stderr);
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &cli_tty_saved);
	}
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &old[i], NULL);
	return ret;
}

/* From a terminal: twice, and both must be the same. */
static enum cli_line cli_password_tty(const char *address, char *buf, size_t *len_r)
{
	char prompt[400], *again;
	size_t again_len = 0;
	enum cli_line ret;

	snprintf(prompt, sizeof(prompt), "New password for %.320s: ", address);
	ret = cli_password_tty_line(prompt, buf, len_r);
	if (ret != CLI_LINE_OK)
		return ret;
	again = malloc(CLI_PASSWORD_READ_MAX);
	if (again == NULL)
		abort();
	ret = cli_password_tty_line("Type it again: ", again, &again_len);
	if (ret == CLI_LINE_OK && (again_len != *len_r || memcmp(again, buf, again_len) != 0))
		ret = CLI_LINE_MISMATCH;
	explicit_bzero(again, CLI_PASSWORD_READ_MAX);
	free(again);
	return ret;
}

/* Read the password into buf; *len_r its length. Returns 0, or -1 after
 * printing why. */
static int cli_password_get(const char *cmd, const char *address, char *buf, size_t *len_r)
{
	enum cli_line ret = isatty(STDIN_FILENO) ? cli_password_tty(address, buf, len_r) :
		cli_password_line(buf, len_r);

	switch (ret) {
	case CLI_LINE_OK:
		return 0;
	case CLI_LINE_EOF:
		cli_fail("%s: no password on standard input", cmd);
		break;
	case CLI_LINE_TOO_LONG:
		cli_fail("%s: password refused: it is longer than %d bytes", cmd,
			 CLI_PASSWORD_READ_MAX);
		break;
	case CLI_LINE_NO_TTY:
		cli_fail("%s: cannot turn off echo on the terminal", cmd);
		break;
	case CLI_LINE_MISMATCH:
		cli_fail("%s: the two passwords differ; nothing was changed", cmd);
		break;
	}
	return -1;
}

char *cli_password_read(const char *cmd, const char *address)
{
	char *buf = malloc(CLI_PASSWORD_READ_MAX + 1);
	const char *why;
	size_t len = 0;

	if (buf == NULL)
		abort();
	setvbuf(stdin, NULL, _IONBF, 0);
	if (cli_password_get(cmd, address, buf, &len) < 0) {
		explicit_bzero(buf, CLI_PASSWORD_READ_MAX + 1);
		free(buf);
		return NULL;
	}
	if (!password_check_new(buf, len, &why)) {
		cli_fail("%s: password refused: %s", cmd, why);
		explicit_bzero(buf, CLI_PASSWORD_READ_MAX + 1);
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}
