#ifndef STREAMTOP_CNCURSES_H
#define STREAMTOP_CNCURSES_H

// The wide-character API of ncurses is only visible with this define.
#define NCURSES_WIDECHAR 1
#include <ncursesw/curses.h>
#include <wchar.h>

// Wrappers for what Swift cannot import from curses: macros, globals and attribute constants.
// All of them must be called from the one thread that owns the terminal.

/// Sets the locale (falling back to C.UTF-8 when the environment says C) and starts curses on the
/// controlling terminal with newterm. Returns 0 on success, -1 when no terminal could be opened.
int st_start(void);
/// Restores the terminal. Safe to call more than once and from a signal handler path.
void st_stop(void);
/// Installs handlers that restore the terminal on crash signals, then re-raise them.
void st_install_crash_handlers(void);
/// Current size.
int st_lines(void);
int st_cols(void);
/// Number of colours the terminal supports (0 without colour).
int st_colors(void);
/// Defines colour pair `pair` (1...) as fg/bg (-1 = terminal default).
int st_init_pair(int pair, int fg, int bg);
/// Attribute bits.
unsigned int st_attr_bold(void);
unsigned int st_attr_dim(void);
unsigned int st_attr_underline(void);
unsigned int st_attr_reverse(void);
/// Draws `n` wide characters at (y, x) with attributes and colour pair.
int st_draw(int y, int x, const wchar_t *text, int n, unsigned int attrs, int pair);
/// Commits the frame to the terminal.
void st_refresh(void);
/// Compares the terminal size with curses' idea of it and resizes curses when they differ (a SIGWINCH
/// may not reach ncurses). Returns 1 when the size changed.
int st_check_resize(void);
/// Forces a full repaint on the next refresh.
void st_clear(void);
/// Reads a key, waiting at most timeout_ms. Returns 0 for a character (in *ch), 1 for a key code
/// (in *ch), -1 for none.
int st_read_key(int timeout_ms, unsigned int *ch);
/// Key codes.
int st_key_up(void);
int st_key_down(void);
int st_key_left(void);
int st_key_right(void);
int st_key_resize(void);
int st_key_ppage(void);
int st_key_npage(void);
int st_key_home(void);
int st_key_end(void);
int st_key_enter(void);
int st_key_backspace(void);
int st_key_f0(void);
/// Mouse: report left clicks as KEY_MOUSE; read the click's position (0 when it is a left click).
void st_enable_mouse(void);
int st_key_mouse(void);
/* The last mouse event: 0 for a left click (at *x, *y), 4 and 5 for the wheel up and down, -1 otherwise. */
int st_get_mouse(int *x, int *y);

#endif
