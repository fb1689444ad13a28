// ncursesw for Swift. Wide-character API needs both defines before <curses.h>; macros and C globals
// that Swift cannot import (or that Swift 6 strict concurrency rejects) are re-exported as functions.
#ifndef SPQR_CNCURSES_SHIM_H
#define SPQR_CNCURSES_SHIM_H

#define NCURSES_WIDECHAR 1
#define _XOPEN_SOURCE_EXTENDED 1
#include <locale.h>
#include <wchar.h>
#include <curses.h>

static inline WINDOW *spqr_stdscr(void) { return stdscr; }
static inline int spqr_lines(void) { return LINES; }
static inline int spqr_cols(void) { return COLS; }
static inline int spqr_colors(void) { return COLORS; }
static inline int spqr_color_pairs(void) { return COLOR_PAIRS; }
static inline attr_t spqr_a_bold(void) { return A_BOLD; }
static inline attr_t spqr_a_reverse(void) { return A_REVERSE; }
static inline attr_t spqr_a_dim(void) { return A_DIM; }
static inline attr_t spqr_a_normal(void) { return A_NORMAL; }
static inline int spqr_key_resize(void) { return KEY_RESIZE; }
static inline int spqr_key_mouse(void) { return KEY_MOUSE; }
static inline mmask_t spqr_all_mouse_events(void) { return ALL_MOUSE_EVENTS | REPORT_MOUSE_POSITION; }
static inline mmask_t spqr_button1_pressed(void) { return BUTTON1_PRESSED; }
static inline mmask_t spqr_button1_clicked(void) { return BUTTON1_CLICKED; }
static inline mmask_t spqr_button4_pressed(void) { return BUTTON4_PRESSED; }
static inline mmask_t spqr_button5_pressed(void) { return BUTTON5_PRESSED; }
static inline int spqr_lc_all(void) { return LC_ALL; }

static inline int spqr_ccharw_max(void) { return CCHARW_MAX; }

/// Writes one character (a spacing character followed by up to CCHARW_MAX - 1 combining marks, zero
/// terminated) with the given attributes and colour pair (pairs above 32767 go through setcchar's opts
/// pointer).
static inline int spqr_put_wchs(int y, int x, const wchar_t *chars, attr_t attrs, int pair) {
    cchar_t cc;
    int p = pair;
    setcchar(&cc, chars, attrs, (short)(pair > 32767 ? 0 : pair), &p);
    return mvwadd_wch(stdscr, y, x, &cc);
}

#endif
