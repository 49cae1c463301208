// This Source Code Form is subject to the terms of the Mozilla Public
// License, v. 2.0. If a copy of the MPL was not distributed with this
// file, You can obtain one at https://mozilla.org/MPL/2.0/.

(() => {
    const darkThemes = ['ayu', 'navy', 'coal'];
    const lightThemes = ['light', 'rust'];

    const classList = document.getElementsByTagName('html')[0].classList;

    let lastThemeWasLight = true;
    for (const cssClass of classList) {
        if (darkThemes.includes(cssClass)) {
            lastThemeWasLight = false;
            break;
        }
    }

    const theme = lastThemeWasLight ? 'default' : 'dark';
    // (secure-sessions-lab) `useMaxWidth: false`: a diagram keeps its natural size instead
    // of being scaled down to the text column (stage 3's six participants shrank to a third,
    // their text to 5-6 px). Sequence diagrams are made narrower instead: 14 px text, messages
    // wrapped between the participants, narrower boxes and margins, so that the widest (stage
    // 3's, about 910 px) fits beside the sidebar of a 1280 px window. mermaid.css lets a
    // diagram be wider than the column, up to the page, and scroll sideways beyond that.
    mermaid.initialize({
        startOnLoad: true,
        theme,
        flowchart: { useMaxWidth: false },
        sequence: {
            useMaxWidth: false,
            wrap: true,
            width: 135,
            actorMargin: 15,
            diagramMarginX: 8,
            actorFontSize: 14,
            messageFontSize: 14,
            noteFontSize: 14,
        },
    });

    // Simplest way to make mermaid re-render the diagrams in the new theme is via refreshing the page

    for (const darkTheme of darkThemes) {
        document.getElementById('mdbook-theme-' + darkTheme).addEventListener('click', () => {
            if (lastThemeWasLight) {
                window.location.reload();
            }
        });
    }

    for (const lightTheme of lightThemes) {
        document.getElementById('mdbook-theme-' + lightTheme).addEventListener('click', () => {
            if (!lastThemeWasLight) {
                window.location.reload();
            }
        });
    }
})();
