//! Small syntactic checks: DNS labels, chain ids, method names, URLs, Kubernetes quantities.

/// True for a DNS-1123 label: 1 to 63 lowercase letters, digits and '-', starting and ending
/// with a letter or digit.
pub fn is_dns_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first().is_some_and(|b| *b != b'-')
        && bytes.last().is_some_and(|b| *b != b'-')
}

/// True for a chain id: 1 to 50 ASCII letters, digits, '-', '_' and '.'.
pub fn valid_chain_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 50
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// True for a JSON-RPC method name: ASCII letters, digits and '_', not starting with a digit.
pub fn valid_method(method: &str) -> bool {
    method
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && method
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Checks an `http://` or `https://` URL with a host; returns why it is not one.
pub fn valid_url(url: &str) -> Result<(), &'static str> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or("the scheme must be http:// or https://")?;
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("URLs cannot contain spaces or control characters");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    if host.is_empty() {
        return Err("the URL has no host");
    }
    if let Some((_, port)) = host_port
        .rsplit_once(':')
        .filter(|_| !host_port.ends_with(']'))
    {
        if !host_port.starts_with('[') || host_port.contains("]:") {
            match port.parse::<u16>() {
                Ok(p) if p > 0 => {}
                _ => return Err("the port must be a number from 1 to 65535"),
            }
        }
    }
    Ok(())
}

/// Parses a Kubernetes quantity (`"500m"`, `"2"`, `"1.5Gi"`, `"1e3"`) into its value.
pub fn parse_quantity(text: &str) -> Result<f64, &'static str> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    if number.is_empty() || number.starts_with(['+', '-']) && number.len() == 1 {
        return Err("a quantity starts with a number");
    }
    if number.starts_with('-') {
        return Err("a quantity cannot be negative");
    }
    let value: f64 = number
        .parse()
        .map_err(|_| "a quantity starts with a decimal number")?;
    let factor = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        s if s.starts_with(['e', 'E']) => {
            let exp: i32 = s[1..].parse().map_err(|_| "invalid exponent")?;
            10f64.powi(exp)
        }
        _ => return Err("unknown suffix; use m, k, M, G, T, Ki, Mi, Gi, Ti, ..."),
    };
    Ok(value * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        assert!(is_dns_label("validator-0"));
        assert!(!is_dns_label("Validator"));
        assert!(!is_dns_label("-a"));
        assert!(!is_dns_label("a_b"));
        assert!(!is_dns_label(&"a".repeat(64)));
    }

    #[test]
    fn urls() {
        assert!(valid_url("http://127.0.0.1:8545").is_ok());
        assert!(valid_url("https://eth.example.org/v1/key").is_ok());
        assert!(valid_url("https://[::1]:8545/").is_ok());
        assert!(valid_url("ftp://x").is_err());
        assert!(valid_url("http://").is_err());
        assert!(valid_url("http://host:99999").is_err());
        assert!(valid_url("http://host:abc").is_err());
    }

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("500m"), Ok(0.5));
        assert_eq!(parse_quantity("2"), Ok(2.0));
        assert_eq!(parse_quantity("1Gi"), Ok(1024f64.powi(3)));
        assert_eq!(parse_quantity("1e3"), Ok(1000.0));
        assert!(parse_quantity("lots").is_err());
        assert!(parse_quantity("-1").is_err());
        assert!(parse_quantity("1GB").is_err());
    }

    #[test]
    fn methods_and_chain_ids() {
        assert!(valid_method("eth_blockNumber"));
        assert!(!valid_method("eth blockNumber"));
        assert!(!valid_method("1eth"));
        assert!(valid_chain_id("netwright-localnet.1"));
        assert!(!valid_chain_id("bad id"));
    }
}
