import { useState, type FormEvent } from "react";
import { Link, useLocation, useNavigate } from "react-router";
import { api, ApiError } from "../api/client";
import type { AuthResult } from "../api/types";
import { useAuthStore } from "../stores/authStore";

/** Sign in, or create an account. */
export function AuthPage({ mode }: { mode: "login" | "register" }) {
  const signIn = useAuthStore((s) => s.signIn);
  const navigate = useNavigate();
  const location = useLocation();
  const [form, setForm] = useState({ email: "", password: "", name: "" });
  const [error, setError] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setFieldErrors({});
    try {
      const body = mode === "register" ? form : { email: form.email, password: form.password };
      const result = await api<AuthResult>(`/api/auth/${mode}`, { method: "POST", json: body });
      signIn(result);
      navigate((location.state as { from?: string } | null)?.from ?? "/", { replace: true });
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
      if (err instanceof ApiError)
        setFieldErrors(Object.fromEntries(err.fieldErrors.filter((f) => f.field).map((f) => [f.field!, f.message])));
    } finally {
      setBusy(false);
    }
  };

  const field = (name: "email" | "password" | "name", label: string, type = "text") => (
    <label className="flex flex-col gap-1">
      <span>{label}</span>
      <input
        name={name}
        type={type}
        required
        autoComplete={name === "password" ? (mode === "login" ? "current-password" : "new-password") : name}
        value={form[name]}
        onChange={(e) => setForm({ ...form, [name]: e.target.value })}
        aria-invalid={!!fieldErrors[name]}
      />
      {fieldErrors[name] && <span className="field-error">{fieldErrors[name]}</span>}
    </label>
  );

  return (
    <main className="flex h-full items-center justify-center">
      <form onSubmit={submit} className="panel flex w-80 flex-col gap-3 rounded-lg border p-6 shadow-sm">
        <h1 className="text-lg font-semibold">{mode === "login" ? "Sign in to FlowMaestro" : "Create your account"}</h1>
        {mode === "register" && field("name", "Name")}
        {field("email", "Email", "email")}
        {field("password", "Password", "password")}
        {error && (
          <p role="alert" className="field-error">
            {error}
          </p>
        )}
        <button className="btn btn-primary justify-center" disabled={busy} type="submit">
          {mode === "login" ? "Sign in" : "Create account"}
        </button>
        <p className="muted text-center">
          {mode === "login" ? (
            <Link to="/register" className="underline">
              Create an account
            </Link>
          ) : (
            <Link to="/login" className="underline">
              I have an account
            </Link>
          )}
        </p>
      </form>
    </main>
  );
}
