//! The stylesheets keep their colours in the themes: no colour literal (hex, `rgb()`, `hsl()` and
//! the other colour functions, a named colour) anywhere but in the theme blocks of
//! `style/themes.css`, both themes define the same variables, and every variable a sheet uses is
//! defined. Reads the real `style/*.css` of the repository.

use std::collections::BTreeSet;
use std::path::PathBuf;

/// The file holding the theme blocks.
const THEMES: &str = "themes.css";

/// Colour functions of CSS Color 4/5.
const COLOUR_FUNCTIONS: &[&str] = &[
    "rgb", "rgba", "hsl", "hsla", "hwb", "lab", "lch", "oklab", "oklch", "color",
];

/// The CSS named colours (CSS Color 4), lowercase. `transparent` and `currentColor` are not
/// colours of their own and stay allowed.
const NAMED_COLOURS: &str = "\
    aliceblue antiquewhite aqua aquamarine azure beige bisque black blanchedalmond blue \
    blueviolet brown burlywood cadetblue chartreuse chocolate coral cornflowerblue cornsilk \
    crimson cyan darkblue darkcyan darkgoldenrod darkgray darkgreen darkgrey darkkhaki \
    darkmagenta darkolivegreen darkorange darkorchid darkred darksalmon darkseagreen \
    darkslateblue darkslategray darkslategrey darkturquoise darkviolet deeppink deepskyblue \
    dimgray dimgrey dodgerblue firebrick floralwhite forestgreen fuchsia gainsboro ghostwhite \
    gold goldenrod gray green greenyellow grey honeydew hotpink indianred indigo ivory khaki \
    lavender lavenderblush lawngreen lemonchiffon lightblue lightcoral lightcyan \
    lightgoldenrodyellow lightgray lightgreen lightgrey lightpink lightsalmon lightseagreen \
    lightskyblue lightslategray lightslategrey lightsteelblue lightyellow lime limegreen linen \
    magenta maroon mediumaquamarine mediumblue mediumorchid mediumpurple mediumseagreen \
    mediumslateblue mediumspringgreen mediumturquoise mediumvioletred midnightblue mintcream \
    mistyrose moccasin navajowhite navy oldlace olive olivedrab orange orangered orchid \
    palegoldenrod palegreen paleturquoise palevioletred papayawhip peachpuff peru pink plum \
    powderblue purple rebeccapurple red rosybrown royalblue saddlebrown salmon sandybrown \
    seagreen seashell sienna silver skyblue slateblue slategray slategrey snow springgreen \
    steelblue tan teal thistle tomato turquoise violet wheat white whitesmoke yellow yellowgreen";

fn style_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../style")
}

/// Every sheet of `style/`, by file name, with its text.
fn sheets() -> Vec<(String, String)> {
    let mut sheets: Vec<(String, String)> = std::fs::read_dir(style_dir())
        .expect("style/ is readable")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "css"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (
                name,
                std::fs::read_to_string(&path).expect("a sheet is text"),
            )
        })
        .collect();
    sheets.sort();
    assert!(sheets.len() >= 2, "style/*.css not found");
    sheets
}

/// `text` without comments and with every quoted string emptied (font names are not colours).
fn strip(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                for c in chars.by_ref() {
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
            }
            '"' | '\'' => {
                for inner in chars.by_ref() {
                    if inner == c {
                        break;
                    }
                }
                out.push_str("\"\"");
            }
            c => out.push(c),
        }
    }
    out
}

/// One declaration: the selectors of the blocks around it (outermost first), the property and
/// the value.
#[derive(Debug)]
struct Declaration {
    selectors: Vec<String>,
    property: String,
    value: String,
}

/// The declarations of a sheet, in order.
fn declarations(text: &str) -> Vec<Declaration> {
    let text = strip(text);
    let mut out = Vec::new();
    let mut selectors: Vec<String> = Vec::new();
    let mut pending = String::new();
    let mut finish = |pending: &mut String, selectors: &[String]| {
        if let Some((property, value)) = pending.split_once(':')
            && !selectors.is_empty()
        {
            out.push(Declaration {
                selectors: selectors.to_vec(),
                property: property.trim().to_owned(),
                value: value.trim().to_owned(),
            });
        }
        pending.clear();
    };
    for c in text.chars() {
        match c {
            '{' => {
                selectors.push(pending.trim().to_owned());
                pending.clear();
            }
            ';' => finish(&mut pending, &selectors),
            '}' => {
                finish(&mut pending, &selectors);
                selectors.pop();
            }
            c => pending.push(c),
        }
    }
    out
}

/// True for a theme block: `:root` or `:root[data-theme=…]` (and lists of them).
fn is_theme_block(selector: &str) -> bool {
    selector.split(',').all(|one| {
        let one = one.trim();
        one == ":root" || (one.starts_with(":root[data-theme=") && one.ends_with(']'))
    })
}

/// The colour literals in a declaration's value.
fn colour_literals(value: &str) -> Vec<String> {
    let mut found = Vec::new();
    let bytes = value.as_bytes();
    for (at, _) in value.match_indices('#') {
        let digits = bytes[at + 1..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        let word = &value[at + 1..at + 1 + digits];
        if matches!(digits, 3 | 4 | 6 | 8) && word.bytes().all(|b| b.is_ascii_hexdigit()) {
            found.push(format!("#{word}"));
        }
    }
    let words = value.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    let mut rest = value;
    for word in words {
        let Some(at) = rest.find(word) else { continue };
        let after = &rest[at + word.len()..];
        rest = after;
        let lower = word.to_ascii_lowercase();
        if word.is_empty() || word.starts_with("--") {
            continue;
        }
        if COLOUR_FUNCTIONS.contains(&lower.as_str()) && after.starts_with('(') {
            found.push(format!("{word}()"));
        } else if NAMED_COLOURS.split_whitespace().any(|name| name == lower) {
            found.push(word.to_owned());
        }
    }
    found
}

/// Colour literals outside the theme blocks of `sheet` (`file: selector { property: literal }`).
fn offenders(file: &str, sheet: &str) -> Vec<String> {
    declarations(sheet)
        .into_iter()
        .filter(|d| !(file == THEMES && d.selectors.iter().all(|s| is_theme_block(s))))
        .flat_map(|d| {
            colour_literals(&d.value).into_iter().map(move |literal| {
                format!(
                    "{file}: {} {{ {}: … {literal} … }}",
                    d.selectors.join(" "),
                    d.property
                )
            })
        })
        .collect()
}

/// The custom properties a theme block of `themes.css` defines, by its selector.
fn theme_variables(selector_contains: &str) -> BTreeSet<String> {
    let themes = sheets()
        .into_iter()
        .find(|(name, _)| name == THEMES)
        .expect("style/themes.css exists")
        .1;
    declarations(&themes)
        .into_iter()
        .filter(|d| {
            d.selectors
                .last()
                .is_some_and(|s| s.contains(selector_contains))
        })
        .filter(|d| d.property.starts_with("--"))
        .map(|d| d.property)
        .collect()
}

#[test]
fn the_checker_finds_every_kind_of_colour_literal() {
    let sheet = ".a { color: #fff; background: rgb(0 0 0 / 50%); border: 1px solid Red; \
                 box-shadow: 0 0 2px hsl(10 20% 30%); outline-color: #12345678 }\n\
                 .b { white-space: nowrap; color: var(--text); background: transparent; \
                 font-family: \"Red Hat\"; fill: currentColor } /* #000 red */";
    let found = offenders("apps.css", sheet);
    assert_eq!(found.len(), 5, "{found:#?}");
    // The same literals are fine in a theme block of themes.css, and only there.
    let theme = ":root[data-theme=\"light\"] { --bg: #fff; --shadow: 0 1px rgb(0 0 0 / 10%) }";
    assert!(offenders(THEMES, theme).is_empty());
    assert_eq!(offenders("main.css", theme).len(), 2);
    assert_eq!(offenders(THEMES, ".x { --bg: #fff }").len(), 1);
}

#[test]
fn no_sheet_has_a_colour_literal_outside_the_theme_definitions() {
    let found: Vec<String> = sheets()
        .iter()
        .flat_map(|(name, text)| offenders(name, text))
        .collect();
    assert!(
        found.is_empty(),
        "colours belong in style/themes.css as variables (both themes); found:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_light_and_dark_themes_define_the_same_variables() {
    let dark = theme_variables("dark");
    let light = theme_variables("light");
    assert!(dark.len() > 10, "{dark:?}");
    assert_eq!(
        dark.symmetric_difference(&light).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "a variable in one theme only"
    );
}

#[test]
fn every_variable_a_sheet_uses_is_defined() {
    let all = sheets();
    let defined: BTreeSet<String> = all
        .iter()
        .flat_map(|(_, text)| declarations(text))
        .filter(|d| d.property.starts_with("--"))
        .map(|d| d.property)
        .collect();
    let mut missing = BTreeSet::new();
    for (name, text) in &all {
        let text = strip(text);
        for (at, _) in text.match_indices("var(--") {
            let used: String = text[at + 4..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            if !defined.contains(&used) {
                missing.insert(format!("{name}: {used}"));
            }
        }
    }
    assert!(missing.is_empty(), "undefined variables: {missing:?}");
}

#[test]
fn every_sheet_is_linked_from_the_page() {
    let index =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("index.html"))
            .expect("desktop/index.html is readable");
    for (name, _) in sheets() {
        assert!(
            index.contains(&format!("../style/{name}\"")),
            "{name} is not linked from desktop/index.html"
        );
    }
    // The themes come first, so every later sheet sees their variables defined.
    let first = index.find("../style/").expect("a sheet is linked");
    assert!(index[first..].starts_with(&format!("../style/{THEMES}")));
}
