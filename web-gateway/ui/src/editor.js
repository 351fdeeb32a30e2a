// The code editor: CodeMirror 6 with Python and JavaScript highlighting.
//
// The editor lives in a shadow root. CodeMirror's style-mod puts its CSS in a
// <style> element when mounted in a document, which the gateway's
// Content-Security-Policy (style-src 'self', no 'unsafe-inline') blocks; in a
// shadow root it uses a constructed stylesheet (adoptedStyleSheets +
// insertRule, i.e. CSSOM), which CSP does not restrict. So the page needs no
// nonce and no 'unsafe-inline'.

import { EditorState, Compartment, Prec } from "@codemirror/state";
import {
  EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter,
  highlightSpecialChars, drawSelection, dropCursor,
} from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import {
  indentOnInput, indentUnit, bracketMatching, syntaxHighlighting, HighlightStyle,
} from "@codemirror/language";
import { closeBrackets, closeBracketsKeymap } from "@codemirror/autocomplete";
import { python } from "@codemirror/lang-python";
import { javascript } from "@codemirror/lang-javascript";
import { tags as t } from "@lezer/highlight";

const LANGUAGES = {
  python: { support: () => python(), indent: "    ", label: "Python" },
  node: { support: () => javascript(), indent: "  ", label: "JavaScript" },
};

const MONO = 'ui-monospace, "SFMono-Regular", "Cascadia Mono", "DejaVu Sans Mono", Menlo, Consolas, monospace';

const theme = EditorView.theme({
  "&": {
    height: "100%",
    color: "#d7dae0",
    backgroundColor: "#1f2329",
    fontSize: "14px",
    borderRadius: "8px",
  },
  "&.cm-focused": { outline: "none" },
  ".cm-scroller": { fontFamily: MONO, lineHeight: "1.55", overflow: "auto" },
  ".cm-content": { caretColor: "#f5f7fa", padding: "10px 0" },
  ".cm-line": { padding: "0 12px 0 8px" },
  ".cm-cursor, .cm-dropCursor": { borderLeftColor: "#f5f7fa", borderLeftWidth: "2px" },
  "&.cm-focused > .cm-scroller > .cm-selectionLayer .cm-selectionBackground, .cm-selectionBackground, .cm-content ::selection":
    { backgroundColor: "#3a4a63" },
  ".cm-activeLine": { backgroundColor: "#262b33" },
  ".cm-gutters": {
    backgroundColor: "#1f2329",
    color: "#6b7380",
    border: "none",
    borderRight: "1px solid #2e343d",
    borderRadius: "8px 0 0 8px",
  },
  ".cm-activeLineGutter": { backgroundColor: "#262b33", color: "#aab1bd" },
  ".cm-lineNumbers .cm-gutterElement": { padding: "0 10px 0 12px", minWidth: "2.5ch" },
  "&.cm-focused .cm-matchingBracket": { backgroundColor: "#3b4d3b", outline: "1px solid #5c7a5c" },
  "&.cm-focused .cm-nonmatchingBracket": { backgroundColor: "#5a2b2b" },
}, { dark: true });

const highlight = HighlightStyle.define([
  { tag: [t.keyword, t.controlKeyword, t.operatorKeyword, t.definitionKeyword, t.moduleKeyword], color: "#c792ea" },
  { tag: [t.string, t.special(t.string), t.regexp], color: "#a5d6a7" },
  { tag: [t.number, t.bool, t.null, t.atom], color: "#f5b97f" },
  { tag: [t.comment, t.lineComment, t.blockComment], color: "#7f8896", fontStyle: "italic" },
  { tag: [t.function(t.variableName), t.function(t.propertyName)], color: "#82b1ff" },
  { tag: [t.definition(t.variableName), t.definition(t.propertyName)], color: "#e6e9ef" },
  { tag: [t.className, t.typeName], color: "#ffd479" },
  { tag: [t.propertyName], color: "#9cd3f0" },
  { tag: [t.self, t.special(t.variableName)], color: "#f07178" },
  { tag: [t.operator, t.punctuation, t.bracket], color: "#aab1bd" },
  { tag: t.invalid, color: "#ff6b6b" },
]);

// Typing over a selection is left to CodeMirror instead of the browser's
// editing code: Chromium replaces a selection that spans highlighted tokens
// by adding style="" attributes to keep their look, which the page's CSP
// (no 'unsafe-inline') blocks and reports on the console. Input rules such as
// closing brackets still apply.
const typeOverSelection = EditorView.domEventHandlers({
  beforeinput(event, view) {
    const { state } = view;
    if (event.inputType !== "insertText" || !event.data || view.composing ||
        state.selection.ranges.every((r) => r.empty)) return false;
    const { from, to } = state.selection.main;
    const insert = () => state.update(state.replaceSelection(event.data), { userEvent: "input.type", scrollIntoView: true });
    event.preventDefault();
    if (!state.facet(EditorView.inputHandler).some((h) => h(view, from, to, event.data, insert))) view.dispatch(insert());
    return true;
  },
});

// Creates the editor inside `host` (a shadow root is attached to it).
// onRun: called for Ctrl/Cmd+Enter. onChange(text): called after each edit.
export function createEditor(host, { doc, language, onRun, onChange }) {
  const languageSlot = new Compartment();
  const indentSlot = new Compartment();
  const labelSlot = new Compartment();
  const label = (lang) => EditorView.contentAttributes.of({
    "aria-label": `Code editor, ${LANGUAGES[lang].label}`,
    "aria-multiline": "true",
  });

  const shadow = host.attachShadow({ mode: "open" });
  const view = new EditorView({
    root: shadow,
    parent: shadow,
    state: EditorState.create({
      doc,
      extensions: [
        Prec.highest(keymap.of([{ key: "Mod-Enter", run: () => { onRun(); return true; } }])),
        lineNumbers(),
        highlightActiveLineGutter(),
        highlightSpecialChars(),
        history(),
        drawSelection(),
        dropCursor(),
        EditorState.allowMultipleSelections.of(true),
        indentOnInput(),
        bracketMatching(),
        closeBrackets(),
        highlightActiveLine(),
        typeOverSelection,
        keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, indentWithTab]),
        syntaxHighlighting(highlight),
        theme,
        EditorView.contentAttributes.of({ spellcheck: "false", autocapitalize: "off", autocorrect: "off" }),
        labelSlot.of(label(language)),
        languageSlot.of(LANGUAGES[language].support()),
        indentSlot.of(indentUnit.of(LANGUAGES[language].indent)),
        EditorView.updateListener.of((u) => { if (u.docChanged) onChange(u.state.doc.toString()); }),
      ],
    }),
  });

  return {
    view,
    getCode: () => view.state.doc.toString(),
    setCode(text) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text }, selection: { anchor: 0 } });
      view.scrollDOM.scrollTop = 0;
    },
    setLanguage(lang) {
      view.dispatch({
        effects: [
          languageSlot.reconfigure(LANGUAGES[lang].support()),
          indentSlot.reconfigure(indentUnit.of(LANGUAGES[lang].indent)),
          labelSlot.reconfigure(label(lang)),
        ],
      });
    },
    focus: () => view.focus(),
  };
}
