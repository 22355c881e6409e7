#include "CNcurses.h"
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <ncursesw/term.h>

static SCREEN *screen = NULL;
static FILE *tty_out = NULL;
static FILE *tty_in = NULL;
static volatile sig_atomic_t active = 0;

int st_start(void) {
    const char *loc = setlocale(LC_ALL, "");
    if (loc == NULL || strcmp(loc, "C") == 0 || strcmp(loc, "POSIX") == 0) {
        setlocale(LC_ALL, "C.UTF-8");
    }
    // Use the terminal itself so the dashboard works even when stdout is redirected.
    tty_out = fopen("/dev/tty", "w");
    tty_in = fopen("/dev/tty", "r");
    if (tty_out == NULL || tty_in == NULL) {
        if (tty_out) fclose(tty_out);
        if (tty_in) fclose(tty_in);
        tty_out = NULL;
        tty_in = NULL;
        if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) return -1;
    }
    const char *term = getenv("TERM");
    screen = newterm(term && *term ? NULL : "xterm-256color", tty_out ? tty_out : stdout, tty_in ? tty_in : stdin);
    if (screen == NULL) return -1;
    set_term(screen);
    // A terminal that cannot move the cursor (TERM=dumb, a printer) would show a blank screen: refuse.
    const char *cup = tigetstr("cup");
    if (cup == NULL || cup == (char *)-1) {
        endwin();
        delscreen(screen);
        screen = NULL;
        return -2;
    }
    active = 1;
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    curs_set(0);
    set_escdelay(25);
    if (has_colors()) {
        start_color();
        use_default_colors();
    }
    return 0;
}

void st_stop(void) {
    if (!active) return;
    active = 0;
    curs_set(1);
    endwin();
    if (screen) {
        delscreen(screen);
        screen = NULL;
    }
    if (tty_out) fclose(tty_out);
    if (tty_in) fclose(tty_in);
    tty_out = NULL;
    tty_in = NULL;
}

static void crash_handler(int sig) {
    if (active) {
        active = 0;
        endwin();
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

void st_install_crash_handlers(void) {
    int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP};
    for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) signal(sigs[i], crash_handler);
}

int st_lines(void) { return LINES; }
int st_cols(void) { return COLS; }
int st_colors(void) { return has_colors() ? COLORS : 0; }
int st_init_pair(int pair, int fg, int bg) { return init_pair((short)pair, (short)fg, (short)bg); }
unsigned int st_attr_bold(void) { return A_BOLD; }
unsigned int st_attr_dim(void) { return A_DIM; }
unsigned int st_attr_underline(void) { return A_UNDERLINE; }
unsigned int st_attr_reverse(void) { return A_REVERSE; }

int st_draw(int y, int x, const wchar_t *text, int n, unsigned int attrs, int pair) {
    attr_set(attrs, (short)pair, NULL);
    return mvaddnwstr(y, x, text, n);
}

void st_refresh(void) { refresh(); }
void st_clear(void) { clearok(stdscr, TRUE); }

int st_read_key(int timeout_ms, unsigned int *ch) {
    timeout(timeout_ms);
    wint_t c;
    int r = get_wch(&c);
    if (r == ERR) return -1;
    *ch = (unsigned int)c;
    return r == KEY_CODE_YES ? 1 : 0;
}

int st_key_up(void) { return KEY_UP; }
int st_key_down(void) { return KEY_DOWN; }
int st_key_left(void) { return KEY_LEFT; }
int st_key_right(void) { return KEY_RIGHT; }
int st_key_resize(void) { return KEY_RESIZE; }
int st_key_ppage(void) { return KEY_PPAGE; }
int st_key_npage(void) { return KEY_NPAGE; }
int st_key_home(void) { return KEY_HOME; }
int st_key_end(void) { return KEY_END; }
int st_key_enter(void) { return KEY_ENTER; }
int st_key_backspace(void) { return KEY_BACKSPACE; }
int st_key_f0(void) { return KEY_F0; }

int st_check_resize(void) {
    struct winsize ws;
    int fd = tty_out ? fileno(tty_out) : STDOUT_FILENO;
    if (ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0 || ws.ws_col == 0) return 0;
    if (ws.ws_row == LINES && ws.ws_col == COLS) return 0;
    resize_term(ws.ws_row, ws.ws_col);
    clearok(stdscr, TRUE);
    return 1;
}

void st_enable_mouse(void) {
    mousemask(BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
    mouseinterval(0);
}

int st_key_mouse(void) { return KEY_MOUSE; }

int st_get_mouse(int *x, int *y) {
    MEVENT event;
    if (getmouse(&event) != OK) return -1;
    *x = event.x;
    *y = event.y;
    if (event.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED)) return 0;
    if (event.bstate & BUTTON4_PRESSED) return 4;
    if (event.bstate & BUTTON5_PRESSED) return 5;
    return -1;
}
