/**
 * Page chrome behaviour on every page: theme toggle, the collapsible chapter menu and
 * search. Pagefind's UI (~100 KB) is fetched only when the learner opens search.
 */
import { THEME_STORAGE_KEY } from '../lib/site.ts';
import { search } from '../i18n/en/page.ts';
import { text } from '../i18n/page.ts';

// ---------------------------------------------------------------- theme
// The inline head script already set data-theme. An explicit choice is stored only while it
// differs from the system setting, so toggling back means "follow the system" again.
const root = document.documentElement;
const systemDark = matchMedia('(prefers-color-scheme: dark)');
const themeButton = document.querySelector<HTMLButtonElement>('[data-theme-toggle]');

function stored(): string | null {
  try {
    return localStorage.getItem(THEME_STORAGE_KEY);
  } catch {
    return null; // storage disabled (privacy mode): the toggle still works for this page
  }
}

function applyTheme(theme: 'light' | 'dark') {
  root.dataset.theme = theme;
  themeButton?.setAttribute('aria-pressed', String(theme === 'dark'));
}

function toggleTheme() {
  const next = root.dataset.theme === 'dark' ? 'light' : 'dark';
  try {
    if ((next === 'dark') === systemDark.matches) localStorage.removeItem(THEME_STORAGE_KEY);
    else localStorage.setItem(THEME_STORAGE_KEY, next);
  } catch {
    /* see stored() */
  }
  applyTheme(next);
}

applyTheme(root.dataset.theme === 'dark' ? 'dark' : 'light');
themeButton?.addEventListener('click', toggleTheme);
systemDark.addEventListener('change', (e) => {
  if (!stored()) applyTheme(e.matches ? 'dark' : 'light');
});

// ---------------------------------------------------------------- chapter menu
const menuButton = document.querySelector<HTMLButtonElement>('[data-menu-button]');
const sidebar = document.querySelector<HTMLElement>('[data-sidebar]');

function setMenu(open: boolean, returnFocus = false) {
  if (!menuButton || !sidebar) return;
  menuButton.setAttribute('aria-expanded', String(open));
  sidebar.toggleAttribute('data-open', open);
  if (returnFocus) menuButton.focus();
}

if (menuButton && sidebar) {
  menuButton.addEventListener('click', () => setMenu(menuButton.getAttribute('aria-expanded') !== 'true'));
  // On the document, not the sidebar: right after opening, focus is still on the menu button.
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && sidebar.hasAttribute('data-open')) setMenu(false, true);
  });
  // Following an on-page heading link should reveal the text it points to.
  sidebar.addEventListener('click', (e) => {
    if ((e.target as Element).closest('a')) setMenu(false);
  });
  document.addEventListener('click', (e) => {
    const t = e.target as Node;
    if (sidebar.hasAttribute('data-open') && !sidebar.contains(t) && !menuButton.contains(t)) setMenu(false);
  });
}

// ---------------------------------------------------------------- search
const dialog = document.querySelector<HTMLDialogElement>('[data-search-dialog]');
const searchStatus = dialog?.querySelector<HTMLElement>('[data-search-status]');
let searchLoad: Promise<void> | undefined;

declare global {
  interface Window {
    PagefindUI?: new (options: Record<string, unknown>) => unknown;
  }
}

const base = import.meta.env.BASE_URL.replace(/\/$/, '');

function loadPagefind(): Promise<void> {
  return new Promise((resolve, reject) => {
    const css = document.createElement('link');
    css.rel = 'stylesheet';
    css.href = `${base}/pagefind/pagefind-ui.css`;
    document.head.append(css);
    const script = document.createElement('script');
    script.src = `${base}/pagefind/pagefind-ui.js`;
    script.onload = () => {
      if (!window.PagefindUI) return reject(new Error('no PagefindUI'));
      new window.PagefindUI({ element: '#search-root', showSubResults: true, showImages: false, autofocus: true });
      resolve();
    };
    script.onerror = () => reject(new Error('pagefind-ui.js did not load'));
    document.head.append(script);
  });
}

function openSearch() {
  if (!dialog || dialog.open) return;
  setMenu(false);
  dialog.showModal();
  searchLoad ??= loadPagefind().catch(() => {
    searchLoad = undefined; // allow a retry after the site is rebuilt
    if (searchStatus) {
      const t = text(search, (m) => m.search);
      searchStatus.textContent = import.meta.env.DEV ? t.devServer : t.noIndex;
    }
  });
  dialog.querySelector<HTMLInputElement>('input')?.focus();
}

document.querySelector('[data-search-open]')?.addEventListener('click', openSearch);
dialog?.querySelector('[data-search-close]')?.addEventListener('click', () => dialog.close());
// A click on the backdrop lands on the <dialog> itself.
dialog?.addEventListener('click', (e) => {
  if (e.target === dialog) dialog.close();
});

document.addEventListener('keydown', (e) => {
  if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
  const t = e.target as HTMLElement | null;
  // Don't steal "/" from anything that takes text, including the terminals' hidden textareas.
  if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
  e.preventDefault();
  openSearch();
});
