// What the page check of pages.spec.ts measures on one page at one width.
import fs from 'fs';
import { Page } from '@playwright/test';

/**
 * Form controls, tables and buttons that stick out of their card (the nearest ancestor that
 * draws a box: a border or a background) or out of the viewport, and sideways scrolling of the
 * page. Inside a scroll container (overflow-x auto/scroll) the container stands in for the
 * viewport: a wide table may scroll there, the page itself may not.
 */
export async function layoutProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = [];
    const viewport = document.documentElement.clientWidth;
    const slack = 1; // sub-pixel rounding
    const describe = (el: Element) => {
      const id = el.id ? `#${el.id}` : '';
      const cls = typeof el.className === 'string' && el.className.trim() ? `.${el.className.trim().split(/\s+/).join('.')}` : '';
      const label = el.getAttribute('aria-label') ?? el.getAttribute('name') ?? (el.textContent ?? '').trim().slice(0, 30);
      return `<${el.tagName.toLowerCase()}${id}${cls}>${label ? ` "${label}"` : ''}`;
    };
    const scroller = (el: Element): Element | null => {
      for (let a = el.parentElement; a && a !== document.body && a !== document.documentElement; a = a.parentElement) {
        const overflow = getComputedStyle(a).overflowX;
        if (overflow === 'auto' || overflow === 'scroll') return a;
      }
      return null;
    };
    const drawsBox = (el: Element) => {
      const s = getComputedStyle(el);
      const bordered = parseFloat(s.borderLeftWidth) > 0 || parseFloat(s.borderRightWidth) > 0;
      const filled = s.backgroundColor !== 'rgba(0, 0, 0, 0)' && s.backgroundColor !== 'transparent';
      return bordered || filled;
    };
    const card = (el: Element): Element => {
      for (let a = el.parentElement; a; a = a.parentElement) {
        if (a.tagName === 'MAIN' || a.tagName === 'HEADER' || a === document.body || drawsBox(a)) return a;
      }
      return document.body;
    };
    const hidden = (el: Element) => el.closest('.visually-hidden') !== null;

    const scrollWidth = document.documentElement.scrollWidth;
    if (scrollWidth > viewport + slack) {
      const culprits = [...document.body.querySelectorAll('*')]
        .filter((el) => !hidden(el) && !scroller(el) && el.getBoundingClientRect().right > viewport + slack);
      // Report the innermost offenders (those with no offending child), a few at most.
      const innermost = culprits.filter((el) => !culprits.some((other) => other !== el && el.contains(other)));
      problems.push(`the page scrolls sideways (${scrollWidth}px wide in a ${viewport}px viewport): ${innermost.slice(0, 4).map(describe).join(', ')}`);
    }

    const controls = document.querySelectorAll('input:not([type="hidden"]), select, textarea, button, table');
    for (const el of controls) {
      if (hidden(el)) continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      const box = scroller(el);
      if (!box && (r.right > viewport + slack || r.left < -slack)) {
        problems.push(`${describe(el)} extends beyond the ${viewport}px viewport (${Math.round(r.left)}–${Math.round(r.right)}px)`);
        continue;
      }
      const c = card(el);
      if (box && !box.contains(c)) continue; // the scroll container is the card's stand-in
      const cr = c.getBoundingClientRect();
      const s = getComputedStyle(c);
      const inner = {
        left: cr.left + parseFloat(s.borderLeftWidth) + parseFloat(s.paddingLeft),
        right: cr.right - parseFloat(s.borderRightWidth) - parseFloat(s.paddingRight),
      };
      if (r.right > inner.right + slack || r.left < inner.left - slack) {
        const by = Math.round(Math.max(r.right - inner.right, inner.left - r.left));
        problems.push(`${describe(el)} sticks out of its card ${describe(c).split(' ')[0]} by ${by}px`);
      }
    }
    return problems;
  });
}

const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/**
 * axe-core violations of impact serious or critical. axe's source goes in through Playwright's
 * evaluate rather than page.addScriptTag: the pages' Content-Security-Policy (script-src with a
 * nonce) refuses an added inline <script> (and logs a console error for it), and with
 * JavaScript off an added <script> never runs at all.
 */
export async function axeProblems(page: Page, javaScript: boolean): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) {
    if (!javaScript) {
      // With JavaScript off timers never fire, but promise jobs do: axe's zero-delay timeouts
      // become promise jobs (its long ones are only safety nets and are dropped).
      await page.evaluate(() => {
        (window as any).setTimeout = (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
          if (!ms || ms <= 1) Promise.resolve().then(() => fn(...args));
          return 0;
        };
        (window as any).clearTimeout = () => {};
      });
    }
    await page.evaluate(AXE);
  }
  const results = await page.evaluate(() => (window as any).axe.run(document, { resultTypes: ['violations'] }));
  return (results.violations as { id: string; impact: string; help: string; nodes: { target: string[] }[] }[])
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}${v.nodes.length > 3 ? ` and ${v.nodes.length - 3} more` : ''}`);
}
