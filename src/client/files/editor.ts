/**
 * The Files tab's editor: CodeMirror 6 with the highlighting of the files the course has
 * learners write (languages.ts picks it), colours from the page's CSS variables (files.css sets
 * them for the light and the dark theme, so the theme toggle needs nothing here), Ctrl/Cmd-S to
 * save and a changed-since-saved flag. Loaded with files-view.ts on the tab's first opening,
 * never with a lesson page.
 *
 * Tab indents, as in any editor; CodeMirror's own escape keeps keyboard users free: Escape, then
 * Tab within 2 s, moves focus out, and Ctrl-M (Shift-Alt-M on macOS) makes Tab move focus until
 * pressed again (the tab's hint says so, like the terminals' Esc-then-Tab).
 */
import { EditorState, type Extension } from '@codemirror/state';
import { EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter, drawSelection, highlightSpecialChars } from '@codemirror/view';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { HighlightStyle, StreamLanguage, syntaxHighlighting, indentOnInput, bracketMatching, type StreamParser } from '@codemirror/language';
import { tags as t } from '@lezer/highlight';
import { yaml } from '@codemirror/lang-yaml';
import { json } from '@codemirror/lang-json';
import { shell } from '@codemirror/legacy-modes/mode/shell';
import { dockerFile } from '@codemirror/legacy-modes/mode/dockerfile';
import { nginx } from '@codemirror/legacy-modes/mode/nginx';
import { properties } from '@codemirror/legacy-modes/mode/properties';
import type { LanguageKind } from './languages.ts';

const legacy = (parser: StreamParser<unknown>) => StreamLanguage.define(parser);
const LANGUAGES: Record<LanguageKind, () => Extension> = {
  yaml: () => yaml(),
  json: () => json(),
  shell: () => legacy(shell as StreamParser<unknown>),
  dockerfile: () => legacy(dockerFile as StreamParser<unknown>),
  nginx: () => legacy(nginx as StreamParser<unknown>),
  properties: () => legacy(properties as StreamParser<unknown>),
};

/** Token colours: CSS variables of files.css, each at least 4.5:1 on the editor's background in both themes. */
const HIGHLIGHT = HighlightStyle.define([
  { tag: [t.keyword, t.operatorKeyword, t.modifier], color: 'var(--cm-keyword)' },
  { tag: [t.string, t.special(t.string), t.regexp], color: 'var(--cm-string)' },
  { tag: [t.comment, t.meta], color: 'var(--cm-comment)', fontStyle: 'italic' },
  { tag: [t.number, t.bool, t.null, t.atom], color: 'var(--cm-number)' },
  { tag: [t.propertyName, t.definition(t.propertyName), t.attributeName, t.labelName], color: 'var(--cm-property)' },
  { tag: [t.variableName, t.definition(t.variableName), t.typeName, t.tagName], color: 'var(--cm-variable)' },
  { tag: t.invalid, color: 'var(--danger)' },
]);

const THEME = EditorView.theme({
  '&': { height: '100%', color: 'var(--fg)', backgroundColor: 'var(--code-bg)', fontSize: '0.875rem' },
  '.cm-scroller': { fontFamily: 'var(--font-mono)', lineHeight: '1.5' },
  '.cm-content': { caretColor: 'var(--fg)' },
  '&.cm-focused': { outline: '2px solid var(--focus)', outlineOffset: '-2px' },
  '.cm-cursor, .cm-dropCursor': { borderLeftColor: 'var(--fg)' },
  '.cm-gutters': { backgroundColor: 'var(--surface)', color: 'var(--muted)', borderRight: '1px solid var(--border)' },
  '.cm-activeLine': { backgroundColor: 'var(--cm-active-line)' },
  '.cm-activeLineGutter': { backgroundColor: 'var(--surface-2)', color: 'var(--fg)' },
  '&.cm-focused > .cm-scroller > .cm-selectionLayer .cm-selectionBackground, .cm-selectionBackground, ::selection': { backgroundColor: 'var(--cm-selection)' },
});

export interface FileEditor {
  /** Whether the text differs from what was last loaded or saved. */
  readonly dirty: boolean;
  readonly text: string;
  /** Show `text` (highlighted for `kind`; `label` names it to screen readers), as saved: undo starts afresh. */
  load(text: string, kind: LanguageKind | undefined, label: string): void;
  /** The text now on the host is the editor's `text` at the time of saving. */
  markSaved(text: string): void;
  focus(): void;
  destroy(): void;
}

export interface EditorHooks {
  /** Ctrl/Cmd-S. */
  save(): void;
  /** The text became different from the saved one, or the same again. */
  dirtyChanged(dirty: boolean): void;
}

/** An editor in `parent`, its content element described by the element with id `describedBy` (the keys' hint). */
export function createEditor(parent: HTMLElement, describedBy: string, hooks: EditorHooks): FileEditor {
  let saved = '';
  let dirty = false;
  // The length first: a keystroke in a 1 MiB file should not compare a megabyte each time it can tell cheaply.
  const differs = (doc: EditorState['doc']) => doc.length !== saved.length || doc.toString() !== saved;
  const base = (kind: LanguageKind | undefined, label: string): Extension[] => [
    lineNumbers(),
    highlightActiveLineGutter(),
    highlightSpecialChars(),
    history(),
    drawSelection(),
    indentOnInput(),
    bracketMatching(),
    highlightActiveLine(),
    syntaxHighlighting(HIGHLIGHT),
    THEME,
    kind ? LANGUAGES[kind]() : [],
    keymap.of([{ key: 'Mod-s', preventDefault: true, run: () => (hooks.save(), true) }, ...defaultKeymap, ...historyKeymap, indentWithTab]),
    EditorView.contentAttributes.of({ 'aria-label': label, 'aria-describedby': describedBy }),
    EditorView.updateListener.of((u) => {
      if (!u.docChanged) return;
      const now = differs(u.state.doc);
      if (now !== dirty) hooks.dirtyChanged((dirty = now));
    }),
  ];
  const view = new EditorView({ parent, state: EditorState.create({ doc: '', extensions: base(undefined, '') }) });
  return {
    get dirty() {
      return dirty;
    },
    get text() {
      return view.state.doc.toString();
    },
    load(text, kind, label) {
      saved = text;
      view.setState(EditorState.create({ doc: text, extensions: base(kind, label) }));
      if (dirty) hooks.dirtyChanged((dirty = false));
    },
    markSaved(text) {
      saved = text;
      const now = differs(view.state.doc);
      if (now !== dirty) hooks.dirtyChanged((dirty = now));
    },
    focus: () => view.focus(),
    destroy: () => view.destroy(),
  };
}
