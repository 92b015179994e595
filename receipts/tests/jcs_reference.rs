//! `jcs::to_canonical` against an independent RFC 8785 implementation
//! (`serde_json_canonicalizer`) on generated values within the body rules
//! (integers in the safe range, any strings and member names, nesting within the
//! limit), and against the examples of RFC 8785 itself.

use netwright_receipts::jcs::{is_canonical, to_canonical};
use proptest::prelude::*;
use serde_json::Value;

const MAX_SAFE: i64 = 9_007_199_254_740_991;

fn reference(value: &Value) -> Vec<u8> {
    serde_json_canonicalizer::to_vec(value).expect("the reference canonicalizes every value")
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{0,4}",
        // Any Unicode scalar values, controls included.
        "(?s).{0,8}",
        // What escaping and UTF-16 ordering hinge on: controls, quote, backslash,
        // DEL, U+2028, the top of the BMP and supplementary characters.
        "[\u{0}\u{8}\t\n\u{c}\r\u{1f}\"\\\\/\u{7f}\u{80}é\u{2028}\u{e000}\u{fb33}\u{ffff}\u{10000}\u{1f600}]{0,6}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-MAX_SAFE..=MAX_SAFE).prop_map(Value::from),
        (-1000i64..1000).prop_map(Value::from),
        prop_oneof![Just(MAX_SAFE), Just(-MAX_SAFE), Just(0)].prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn agrees_with_the_reference_implementation(value in json_value()) {
        let ours = to_canonical(&value).unwrap();
        prop_assert_eq!(
            String::from_utf8(ours.clone()).unwrap(),
            String::from_utf8(reference(&value)).unwrap()
        );
        prop_assert!(is_canonical(&ours));
    }
}

/// RFC 8785 §3.2.3: members sorted by UTF-16 code units. The emoji (surrogate
/// pair D83D DE00) sorts before U+FB33, unlike in UTF-8 or code point order.
#[test]
fn rfc8785_sorting_example() {
    let input = r#"{
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\ud83d\ude00": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis"
    }"#;
    let value: Value = serde_json::from_str(input).unwrap();
    let expected = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
        \"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\
        \"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
    assert_eq!(
        String::from_utf8(to_canonical(&value).unwrap()).unwrap(),
        expected
    );
    assert_eq!(reference(&value), expected.as_bytes());
}

/// RFC 8785 §3.2.2 example, without its `numbers` member: its numbers are
/// fractions and exponents, which receipts refuse (checked below).
#[test]
fn rfc8785_string_and_literal_example() {
    let input = r#"{
        "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
        "literals": [null, true, false]
    }"#;
    let value: Value = serde_json::from_str(input).unwrap();
    let expected = r#"{"literals":[null,true,false],"string":"€$\u000f\nA'B\"\\\\\"/"}"#;
    assert_eq!(
        String::from_utf8(to_canonical(&value).unwrap()).unwrap(),
        expected
    );
    assert_eq!(reference(&value), expected.as_bytes());

    let numbers: Value = serde_json::from_str(
        "[333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001]",
    )
    .unwrap();
    for (i, n) in numbers.as_array().unwrap().iter().enumerate() {
        let e = to_canonical(&Value::Array(vec![n.clone()])).unwrap_err();
        assert_eq!(e.pointer, "/0", "{i}");
        assert!(e.reason.contains("not an integer"), "{e}");
    }
}

/// The integers receipts allow are written as RFC 8785 writes the same IEEE 754
/// values; one past the safe range is refused (the reference would round it).
#[test]
fn integer_range_edges() {
    for n in [0, 1, -1, MAX_SAFE, -MAX_SAFE] {
        let v = Value::from(n);
        assert_eq!(to_canonical(&v).unwrap(), reference(&v), "{n}");
    }
    for n in [MAX_SAFE + 1, -MAX_SAFE - 1] {
        assert!(to_canonical(&Value::from(n)).is_err(), "{n}");
    }
}
