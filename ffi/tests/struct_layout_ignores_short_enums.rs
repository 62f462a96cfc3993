//! Every public struct of `include/ember.h` has the same size and field offsets whether the
//! host compiles with `-fshort-enums` or not: enums in structs and return values are
//! fixed-width integers (`typedef uint32_t ember_role;` for C), as in rustls-ffi.

use std::path::Path;
use std::process::Command;

/// `(struct, fields)` of every `typedef struct name { ... } name;` in the header.
fn public_structs(header: &str) -> Vec<(String, Vec<String>)> {
    let mut structs = Vec::new();
    let mut current: Option<(String, Vec<String>)> = None;
    for line in header.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("typedef struct ") {
            if let Some(name) = rest.strip_suffix(" {") {
                current = Some((name.to_owned(), Vec::new()));
            }
            continue;
        }
        let Some((_, fields)) = current.as_mut() else {
            continue;
        };
        if line.starts_with('*') || line.starts_with("/*") {
            continue;
        }
        if line.starts_with('}') {
            structs.extend(current.take());
        } else if let Some(decl) = line.strip_suffix(';') {
            let decl = decl.split('[').next().unwrap_or(decl);
            let name = decl
                .rsplit(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
                .unwrap_or(decl);
            fields.push(name.to_owned());
        }
    }
    structs
}

/// A C program that prints the size of every struct and the offset of every field.
fn layout_program(structs: &[(String, Vec<String>)]) -> String {
    let mut c = String::from(
        "#include <stddef.h>\n#include <stdio.h>\n#include \"ember.h\"\nint main(void) {\n",
    );
    for (name, fields) in structs {
        c += &format!("    printf(\"{name} %zu\\n\", sizeof({name}));\n");
        for f in fields {
            c += &format!("    printf(\"  {f} %zu\\n\", offsetof({name}, {f}));\n");
        }
    }
    c += "    printf(\"return %zu\\n\", sizeof(ember_engine_open(NULL, NULL, NULL)));\n";
    c + "    return 0;\n}\n"
}

fn layout(dir: &Path, source: &Path, name: &str, flags: &[&str]) -> String {
    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("../include");
    let exe = dir.join(name);
    let built = Command::new("cc")
        .args(["-std=c11", "-Wall", "-Werror", "-c"])
        .args(flags)
        .arg("-I")
        .arg(&include)
        .arg(source)
        .arg("-o")
        .arg(exe.with_extension("o"))
        .output()
        .expect("cc runs");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    // Linked without libember: the program only evaluates sizeof, never calls it.
    let linked = Command::new("cc")
        .arg(exe.with_extension("o"))
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("cc links");
    assert!(
        linked.status.success(),
        "{}",
        String::from_utf8_lossy(&linked.stderr)
    );
    let out = Command::new(&exe)
        .output()
        .expect("the layout program runs");
    assert!(out.status.success());
    String::from_utf8(out.stdout).expect("ASCII")
}

#[test]
fn struct_layout_is_the_same_with_short_enums() {
    let header =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../include/ember.h"))
            .expect("read include/ember.h");
    let structs = public_structs(&header);
    assert!(structs.len() >= 20, "found {} structs", structs.len());
    assert!(
        structs
            .iter()
            .any(|(n, f)| n == "ember_user" && f.iter().any(|f| f == "role")),
        "the parser sees ember_user.role"
    );
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("layout.c");
    std::fs::write(&source, layout_program(&structs)).unwrap();
    let normal = layout(dir.path(), &source, "normal", &[]);
    let short = layout(dir.path(), &source, "short", &["-fshort-enums"]);
    assert!(normal.contains("ember_user "), "{normal}");
    assert!(normal.ends_with("return 4\n"), "{normal}");
    assert_eq!(normal, short, "-fshort-enums changed the ABI");
}
